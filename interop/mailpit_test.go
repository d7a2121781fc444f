package interop

import (
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/caddy-outstatic/caddy-outstatic/internal/fakesmtp"
	"github.com/caddy-outstatic/caddy-outstatic/internal/testproc"
	"github.com/caddy-outstatic/caddy-outstatic/internal/toolcache"
)

// smtpUser and smtpPassword are the only credentials Mailpit accepts.
const (
	smtpUser     = "relay"
	smtpPassword = "mailpit-password-0123456789"
)

// mailpitTLS is the transport security Mailpit requires.
type mailpitTLS string

const (
	// mailpitSTARTTLS requires STARTTLS before AUTH and mail.
	mailpitSTARTTLS mailpitTLS = "starttls"
	// mailpitImplicit speaks TLS from the first byte.
	mailpitImplicit mailpitTLS = "implicit"
	// mailpitPlain speaks no TLS and takes AUTH PLAIN in the clear, as
	// the relay allows towards loopback only: the one way a test in
	// between can read the conversation.
	mailpitPlain mailpitTLS = "none"
)

// mailpit is a running Mailpit: SMTP with AUTH and its HTTP API.
type mailpit struct {
	// SMTP is its SMTP address; API its HTTP API's base URL.
	SMTP, API string
	// CertFile is its certificate (PEM), which the relay is told to
	// trust through SSL_CERT_FILE; "" without TLS.
	CertFile string
	proc     *testproc.Proc
	seen     map[string]bool // message IDs handed out by next
}

// startMailpit runs Mailpit on loopback with sec and AUTH for
// smtpUser/smtpPassword only (a bcrypt password file), its database in
// the test's folder, no version check and no reverse DNS lookups.
func startMailpit(t *testing.T, sec mailpitTLS) *mailpit {
	t.Helper()
	bin := built(t, toolcache.Mailpit)
	dir := t.TempDir()
	hash, err := bcrypt.GenerateFromPassword([]byte(smtpPassword), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	auth := filepath.Join(dir, "smtp-auth")
	if err := os.WriteFile(auth, []byte(smtpUser+":"+string(hash)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	m := &mailpit{SMTP: fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t)), seen: map[string]bool{}}
	httpAddr := fmt.Sprintf("127.0.0.1:%d", testproc.FreePort(t))
	m.API = "http://" + httpAddr + "/api/v1"
	args := []string{bin, "--smtp", m.SMTP, "--listen", httpAddr, "--database", filepath.Join(dir, "mailpit.db"),
		"--smtp-auth-file", auth, "--disable-version-check", "--smtp-disable-rdns"}
	switch sec {
	case mailpitPlain:
		args = append(args, "--smtp-auth-allow-insecure")
	default:
		var key string
		m.CertFile, key = writeCertificate(t, dir)
		args = append(args, "--smtp-tls-cert", m.CertFile, "--smtp-tls-key", key)
		if sec == mailpitImplicit {
			args = append(args, "--smtp-require-tls")
		} else {
			args = append(args, "--smtp-require-starttls")
		}
	}
	m.proc = testproc.Start(t, "mailpit", dir, testproc.BaseEnv(dir), args...)
	m.proc.WaitHTTP(t, m.API+"/info", 30*time.Second, nil, func(r *http.Response) bool { return r.StatusCode == 200 })
	return m
}

// writeCertificate writes a certificate for 127.0.0.1, its own issuer,
// and its key, as PEM files in dir.
func writeCertificate(t *testing.T, dir string) (certFile, keyFile string) {
	t.Helper()
	cert, _, err := fakesmtp.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(cert.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Certificate[0]}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// mailAddress is an address as Mailpit's API gives it.
type mailAddress struct {
	Name, Address string
}

// mailMessage is a message as Mailpit's API gives it.
type mailMessage struct {
	ID        string
	MessageID string
	From      mailAddress
	To        []mailAddress
	Subject   string
	Date      time.Time
	Text      string
	HTML      string
}

// getJSON fetches the API's path into out.
func (m *mailpit) getJSON(t *testing.T, path string, out any) {
	t.Helper()
	res, err := http.Get(m.API + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		t.Fatalf("mailpit %s: %d %s", path, res.StatusCode, data)
	}
	if err := json.Unmarshal(data, out); err != nil {
		t.Fatalf("mailpit %s: %v", path, err)
	}
}

// raw is the message's source as Mailpit received it.
func (m *mailpit) raw(t *testing.T, id string) []byte {
	t.Helper()
	res, err := http.Get(m.API + "/message/" + id + "/raw")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	return data
}

// total is how many messages Mailpit holds.
func (m *mailpit) total(t *testing.T) int {
	t.Helper()
	var list struct {
		Total int `json:"total"`
	}
	m.getJSON(t, "/messages", &list)
	return list.Total
}

// next waits (at most 30s) for a message to to that next has not handed
// out yet, and returns it whole.
func (m *mailpit) next(t *testing.T, to string) mailMessage {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		var list struct {
			Messages []mailMessage `json:"messages"`
		}
		m.getJSON(t, "/messages", &list)
		for _, s := range list.Messages {
			if m.seen[s.ID] || !slices.ContainsFunc(s.To, func(a mailAddress) bool { return a.Address == to }) {
				continue
			}
			m.seen[s.ID] = true
			var msg mailMessage
			m.getJSON(t, "/message/"+s.ID, &msg)
			return msg
		}
	}
	t.Fatalf("no message to %s reached Mailpit:\n%s", to, m.proc.Tail(4000))
	return mailMessage{}
}
