//go:build e2e

package e2e

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testCA is the root of the CA Caddy issues from with tls internal in the
// https stacks: made by the test, once per run, so that every client can
// be told to trust it before Caddy starts. Caddy makes its intermediate
// and the sites' certificates under it, as it would under a root of its
// own; Caddy itself (the guard and the relay calling the relay over https)
// trusts it through SSL_CERT_FILE, the site through NODE_EXTRA_CA_CERTS,
// the test's own clients through rootPool. Chromium is started with
// --ignore-certificate-errors instead: it would want the root in an NSS
// database.
var testCA struct {
	once      sync.Once
	dir       string
	cert, key string // PEM files
	pool      *x509.CertPool
	err       error
}

// caFiles makes the test CA if need be and returns its root certificate
// and key files.
func caFiles(t *testing.T) (cert, key string) {
	t.Helper()
	testCA.once.Do(func() { testCA.err = makeCA() })
	if testCA.err != nil {
		t.Fatalf("making the test CA: %v", testCA.err)
	}
	return testCA.cert, testCA.key
}

func makeCA() error {
	priv, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(now.UnixNano()),
		Subject:               pkix.Name{CommonName: "caddy-outstatic e2e root"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(30 * 24 * time.Hour), // longer than the intermediate Caddy makes (7 days)
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &priv.PublicKey, priv)
	if err != nil {
		return err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return err
	}
	dir, err := os.MkdirTemp("", "outstatic-e2e-ca-")
	if err != nil {
		return err
	}
	testCA.dir = dir
	cert, key := filepath.Join(dir, "root.crt"), filepath.Join(dir, "root.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		return err
	}
	parsed, err := x509.ParseCertificate(der)
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AddCert(parsed)
	testCA.cert, testCA.key, testCA.pool = cert, key, pool
	return nil
}

// clientTLS is the TLS configuration of the test's own clients: the
// system's roots, or the test CA once there is one.
func clientTLS() *tls.Config {
	return &tls.Config{RootCAs: testCA.pool}
}

// removeCA removes the test CA's files; TestMain calls it.
func removeCA() {
	if testCA.dir != "" {
		os.RemoveAll(testCA.dir)
	}
}
