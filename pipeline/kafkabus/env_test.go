package kafkabus

import (
	"os"
	"strings"
	"testing"
)

// IntegrationBrokers returns the brokers of OTKLIK_TEST_KAFKA (printed by
// deployments/services/up.sh). Unset, the test is skipped, or fails when CI=true.
func IntegrationBrokers(t *testing.T) []string {
	t.Helper()
	v := os.Getenv("OTKLIK_TEST_KAFKA")
	if v == "" {
		need(t, "no Kafka broker: set OTKLIK_TEST_KAFKA (eval \"$(deployments/services/up.sh)\")")
	}
	var out []string
	for _, b := range strings.Split(v, ",") {
		if b = strings.TrimSpace(b); b != "" {
			out = append(out, b)
		}
	}
	return out
}

// IntegrationEngines returns the search engines to test, by name, from
// OTKLIK_TEST_OPENSEARCH_URL and OTKLIK_TEST_ELASTICSEARCH_URL; neither set: skip (fail
// when CI=true).
func IntegrationEngines(t *testing.T) map[string]string {
	t.Helper()
	urls := map[string]string{}
	if u := os.Getenv("OTKLIK_TEST_OPENSEARCH_URL"); u != "" {
		urls["opensearch"] = u
	}
	if u := os.Getenv("OTKLIK_TEST_ELASTICSEARCH_URL"); u != "" {
		urls["elasticsearch"] = u
	}
	if len(urls) == 0 {
		need(t, "no search engine: set OTKLIK_TEST_OPENSEARCH_URL and/or OTKLIK_TEST_ELASTICSEARCH_URL (eval \"$(deployments/services/up.sh)\")")
	}
	return urls
}

// IntegrationCtl returns deployments/services/ctl.sh from OTKLIK_TEST_SERVICES_CTL, for
// the fault tests that stop and start the servers; unset: skip (fail when CI=true).
func IntegrationCtl(t *testing.T) string {
	t.Helper()
	v := os.Getenv("OTKLIK_TEST_SERVICES_CTL")
	if v == "" {
		need(t, "fault tests need the services' control script: set OTKLIK_TEST_SERVICES_CTL (eval \"$(deployments/services/up.sh)\")")
	}
	return v
}

func need(t *testing.T, msg string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}
