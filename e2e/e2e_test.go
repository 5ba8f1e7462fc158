//go:build e2e

package e2e

import (
	"os"
	"testing"
)

// TestDCR runs every client against a Gatehouse with CIMD switched off, so
// each one registers at /register (RFC 7591).
func TestDCR(t *testing.T) {
	st := startStack(t, "dcr", nil)
	t.Run("discovery", func(t *testing.T) { testDiscovery(t, st) })
	t.Run("clients", func(t *testing.T) {
		t.Run("ts-sdk-v1", func(t *testing.T) { t.Parallel(); testTSSDK(t, st, "v1", "") })
		t.Run("ts-sdk-v2", func(t *testing.T) { t.Parallel(); testTSSDK(t, st, "v2", "") })
		t.Run("go-sdk", func(t *testing.T) { t.Parallel(); testGoSDK(t, st, "") })
		t.Run("x-oauth2-basic-probe", func(t *testing.T) {
			t.Parallel()
			testXOAuth2Probe(t, st, registerPublicClient(t, st, "Gatehouse e2e x/oauth2 AutoDetect"))
		})
		t.Run("browser", func(t *testing.T) {
			t.Parallel()
			testBrowser(t, st, registerPublicClient(t, st, "Gatehouse e2e browser"))
		})
		t.Run("secret-by-either-form", func(t *testing.T) { t.Parallel(); testSecretByEitherForm(t, st) })
		t.Run("browser-long-state", func(t *testing.T) {
			t.Parallel()
			testBrowserWithState(t, st, registerPublicClient(t, st, "Gatehouse e2e browser (long state)"), longState)
		})
		t.Run("consent-denied", func(t *testing.T) {
			t.Parallel()
			testDenied(t, st, registerPublicClient(t, st, "Gatehouse e2e deny"))
		})
		t.Run("undeclared-redirect-refused", func(t *testing.T) {
			t.Parallel()
			testUnverifiedRedirectRefused(t, st, registerPublicClient(t, st, "Gatehouse e2e redirects"))
		})
		t.Run("consent-remembered", func(t *testing.T) {
			t.Parallel()
			testConsentRemembered(t, st, registerPublicClient(t, st, "Gatehouse e2e remembered"))
		})
	})
}

// TestCIMD runs every client against a Gatehouse with CIMD on: each one
// sends the https URL of its metadata document, which Gatehouse fetches
// from a TLS host on loopback.
func TestCIMD(t *testing.T) {
	requireCIMD(t)
	docs := startDocHost(t)
	st := startStack(t, "cimd", docs)
	t.Run("discovery", func(t *testing.T) { testDiscovery(t, st) })
	t.Run("clients", func(t *testing.T) {
		t.Run("ts-sdk-v1", func(t *testing.T) {
			t.Parallel()
			testTSSDK(t, st, "v1", docs.addClient(t, "ts-sdk-v1", driverRedirect))
		})
		t.Run("ts-sdk-v2", func(t *testing.T) {
			t.Parallel()
			testTSSDK(t, st, "v2", docs.addClient(t, "ts-sdk-v2", driverRedirect))
		})
		t.Run("go-sdk", func(t *testing.T) {
			t.Parallel()
			testGoSDK(t, st, docs.addClient(t, "go-sdk", driverRedirect))
		})
		t.Run("x-oauth2-basic-probe", func(t *testing.T) {
			t.Parallel()
			testXOAuth2Probe(t, st, docs.addClient(t, "x-oauth2", driverRedirect))
		})
		t.Run("browser", func(t *testing.T) {
			t.Parallel()
			testBrowser(t, st, docs.addClient(t, "browser", driverRedirect))
		})
		t.Run("openid-client-private-key-jwt", func(t *testing.T) {
			t.Parallel()
			testOpenIDClientPrivateKeyJWT(t, st, docs)
		})
		t.Run("consent-denied", func(t *testing.T) {
			t.Parallel()
			testDenied(t, st, docs.addClient(t, "deny", driverRedirect))
		})
		t.Run("undeclared-redirect-refused", func(t *testing.T) {
			t.Parallel()
			testUnverifiedRedirectRefused(t, st, docs.addClient(t, "redirects", driverRedirect))
		})
		t.Run("consent-remembered", func(t *testing.T) {
			t.Parallel()
			testConsentRemembered(t, st, docs.addClient(t, "remembered", driverRedirect))
		})
		t.Run("missing-document-refused", func(t *testing.T) {
			t.Parallel()
			testMissingDocumentRefused(t, st)
		})
	})
}

// requireCIMD stops the CIMD tests, loudly, when this build of gatehouse
// has no cimd.* settings yet, unless GATEHOUSE_E2E_CIMD=1 asks to run them
// anyway (they then fail on the unknown settings).
func requireCIMD(t *testing.T) {
	if cimdInBuild {
		return
	}
	if os.Getenv("GATEHOUSE_E2E_CIMD") == "1" {
		t.Log("GATEHOUSE_E2E_CIMD=1: running the CIMD tests although this gatehouse has no cimd.* settings")
		return
	}
	t.Skip("NOT RUN: this gatehouse has no cimd.* settings (CIMD not integrated); set GATEHOUSE_E2E_CIMD=1 to run the CIMD tests anyway")
}
