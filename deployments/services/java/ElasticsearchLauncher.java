// ElasticsearchLauncher starts a single-node Elasticsearch 8.x from the Maven Central jars: the
// server on the class path and the transport-netty4 module (HTTP) loaded from
// <home>/modules/transport-netty4 as a non-modular plugin. No distribution tarball, no security
// (x-pack is not on Maven Central), no entitlement agent. Optional test service: Maven Central
// has no analysis-common for 8.x, so language analyzers (russian stemmer/stop) are missing.
//
// Usage: java -cp "server-jars/*:classes" ElasticsearchLauncher <home-dir> <http-port> <transport-port>
// SIGTERM closes the node cleanly, so its data survives a stop/start (ctl.sh).

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

public final class ElasticsearchLauncher {
    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: ElasticsearchLauncher <home-dir> <http-port> <transport-port>");
            System.exit(2);
        }
        // Elasticsearch's own logging facade must be wired before any server class logs.
        LogConfigurator.configureESLogging();
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Files.createDirectories(home.resolve("plugins"));
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "otklik-test-es")
            .put("node.name", "otklik-test-es-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config,
            () -> "otklik-test-es-node");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("otklik-test-es-node");
        LogConfigurator.configure(env, true);

        PluginsLoader loader = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir()),
            PluginsLoader.loadPluginsBundles(env.pluginsDir()),
            Map.of());
        Node node = new Node(env, loader);
        CountDownLatch stopped = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(30, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                stopped.countDown();
            }
        }, "otklik-shutdown"));
        node.start();
        System.out.println("ElasticsearchLauncher: node started on 127.0.0.1:" + args[1]);
        stopped.await();
    }
}
