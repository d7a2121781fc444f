package store

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/caddy-outstatic/caddy-outstatic/validate"
)

// RedisConfig says how to reach Redis, in one of three forms: one server
// (one address), a master watched by Sentinel (the addresses are the
// sentinels; the store follows failovers), or a Redis Cluster (the
// addresses are seed nodes). Each field maps onto go-redis's
// UniversalOptions, and NewUniversalClient picks the client: a plain
// client, a FailoverClient or a ClusterClient.
type RedisConfig struct {
	// Addresses are host:port pairs: the one server, the sentinels, or
	// the cluster's seed nodes. Several need sentinel or cluster.
	Addresses []string `json:"addresses,omitempty"`
	// Address is one host:port, the older way to write a one-address
	// Addresses; give one or the other.
	Address string `json:"address,omitempty"`
	// Username is the ACL user to log in as. Default: none (the default
	// user, with password only).
	Username string `json:"username,omitempty"`
	// Password as an {env.*} or {file.*} placeholder, expanded when the
	// config loads. Default: none.
	Password string `json:"password,omitempty"`
	// DB is the database number. Default: 0, the only one a Cluster has.
	DB int `json:"db,omitempty"`
	// Prefix of every key, as "<prefix>:<key>". Default: outstatic.
	Prefix string `json:"prefix,omitempty"`
	// TLS, when set, speaks TLS to every node (and sentinel), verifying
	// its certificate. An empty object trusts the system's roots.
	TLS *RedisTLS `json:"tls,omitempty"`
	// Sentinel, when set, makes the addresses sentinels that watch the
	// named master.
	Sentinel *RedisSentinel `json:"sentinel,omitempty"`
	// Cluster makes the addresses seed nodes of a Redis Cluster (one
	// address is fine: a managed cluster's configuration endpoint).
	Cluster bool `json:"cluster,omitempty"`
}

// RedisTLS is how the server's certificate is verified.
type RedisTLS struct {
	// CAFile is a PEM bundle of the certificates that signed the server's.
	// Default: the system's roots.
	CAFile string `json:"ca_file,omitempty"`
	// ServerName is the name the certificate must hold, when it is not
	// the host of the address dialled (a cluster's nodes are announced by
	// IP). Default: that host.
	ServerName string `json:"server_name,omitempty"`
}

// RedisSentinel names the master that the sentinels watch.
type RedisSentinel struct {
	// Master is the master's name in the sentinels' configuration.
	// Required.
	Master string `json:"master"`
	// Password of the sentinels themselves, as an {env.*} or {file.*}
	// placeholder, when they require one. Default: none.
	Password string `json:"password,omitempty"`
}

// DefaultRedisPrefix is the key prefix when RedisConfig.Prefix is empty.
const DefaultRedisPrefix = "outstatic"

// The bounds of every Redis call: a dead or hung node fails a call within
// about (redisMaxRetries+1) × (redisDialTimeout or redisIOTimeout), one
// dial each, so a request answers 503 instead of hanging; a refused
// connection (a dead process) fails at once.
const (
	redisDialTimeout = 2 * time.Second
	redisIOTimeout   = 2 * time.Second
	redisPoolTimeout = 3 * time.Second
	redisMaxRetries  = 2
)

// ConfigError is a RedisConfig check that failed. Field is the JSON field
// at fault ("addresses", "tls.ca_file", ...), which is also the Caddyfile
// subdirective, so a parser can point at the line that set it.
type ConfigError struct {
	Field string
	Msg   string
}

func (e *ConfigError) Error() string { return "redis " + e.Field + ": " + e.Msg }

func configErr(field, format string, args ...any) error {
	return &ConfigError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

// Addrs returns the addresses, from Addresses or the older Address.
func (c *RedisConfig) Addrs() []string {
	if c.Address != "" {
		return append([]string{c.Address}, c.Addresses...)
	}
	return c.Addresses
}

// Form names how the config reaches Redis: "single", "sentinel" or
// "cluster".
func (c *RedisConfig) Form() string {
	switch {
	case c.Sentinel != nil:
		return "sentinel"
	case c.Cluster:
		return "cluster"
	}
	return "single"
}

// KeyPrefix returns Prefix or its default.
func (c *RedisConfig) KeyPrefix() string {
	if c.Prefix == "" {
		return DefaultRedisPrefix
	}
	return c.Prefix
}

// Check reports the first thing wrong with c, as a *ConfigError that says
// what to write instead. It reads the CA file, if any.
func (c *RedisConfig) Check() error {
	if c.Address != "" && len(c.Addresses) > 0 {
		return configErr("address", "give addresses or the older address, not both")
	}
	addrs := c.Addrs()
	if len(addrs) == 0 {
		return configErr("addresses", "none given: write the server's host:port, e.g. 127.0.0.1:6379")
	}
	for _, a := range addrs {
		if err := checkRedisAddr(a); err != nil {
			return configErr("addresses", "%v", err)
		}
	}
	if c.Sentinel != nil && c.Cluster {
		return configErr("cluster", "sentinel and cluster together: Sentinel watches one master and its replicas, a Cluster fails over by itself; keep the one your Redis runs")
	}
	if len(addrs) > 1 && c.Sentinel == nil && !c.Cluster {
		return configErr("addresses", "%d addresses for one server: add sentinel <master> if they are sentinels, or cluster if they are seed nodes of a Redis Cluster; else give one", len(addrs))
	}
	if c.DB < 0 {
		return configErr("db", "%d is not a database number (0 or more)", c.DB)
	}
	if c.DB != 0 && c.Cluster {
		return configErr("db", "a Redis Cluster has only database 0: remove db, and use prefix to keep deployments apart")
	}
	if c.Username != "" && !printableWord(c.Username) {
		return configErr("username", "%q is not a user name: printable ASCII without spaces", c.Username)
	}
	if c.Password != "" && !validate.SecretPlaceholder(c.Password) {
		return configErr("password", "%v", validate.ErrNotSecretPlaceholder)
	}
	if err := validateRedisPrefix(c.KeyPrefix()); err != nil {
		return configErr("prefix", "%v", err)
	}
	if s := c.Sentinel; s != nil {
		if !printableWord(s.Master) {
			return configErr("sentinel", "the master's name %q is not a word: write the name the sentinels monitor (sentinel monitor <name> ...)", s.Master)
		}
		if s.Password != "" && !validate.SecretPlaceholder(s.Password) {
			return configErr("sentinel.password", "%v", validate.ErrNotSecretPlaceholder)
		}
	}
	if t := c.TLS; t != nil {
		if t.ServerName != "" && !printableWord(t.ServerName) {
			return configErr("tls.server_name", "%q is not a host name", t.ServerName)
		}
		if t.CAFile != "" {
			if _, err := loadCAFile(t.CAFile); err != nil {
				return configErr("tls.ca_file", "%v", err)
			}
		}
	}
	return nil
}

// checkRedisAddr accepts host:port with a port from 1 to 65535. An
// address with a scheme or userinfo is refused without being echoed: a
// redis://user:password@host URL would put its password in the error.
func checkRedisAddr(a string) error {
	if strings.Contains(a, "://") || strings.Contains(a, "@") {
		return errors.New("an address is a URL: write host:port, with tls for rediss:// and the user and password on their own lines")
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil || host == "" || !printableWord(host) {
		return fmt.Errorf("%q is not host:port, e.g. 127.0.0.1:6379 or redis.internal:6379", a)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("%q: the port %q is not a number from 1 to 65535", a, port)
	}
	return nil
}

// printableWord: 1 or more bytes of printable ASCII without spaces.
func printableWord(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// loadCAFile reads a PEM bundle of certificates into a pool.
func loadCAFile(path string) (*x509.CertPool, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the CA file: %w", err)
	}
	pool := x509.NewCertPool()
	n := 0
	for rest := raw; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("the CA file %s: %w", path, err)
		}
		pool.AddCert(cert)
		n++
	}
	if n == 0 {
		return nil, fmt.Errorf("the CA file %s holds no PEM certificate (-----BEGIN CERTIFICATE-----)", path)
	}
	return pool, nil
}

// Options checks c and returns the go-redis options it stands for, with
// the placeholders of the username and passwords replaced by expand, and
// the timeouts that bound every call.
func (c *RedisConfig) Options(expand func(string) string) (*redis.UniversalOptions, error) {
	if err := c.Check(); err != nil {
		return nil, err
	}
	o := &redis.UniversalOptions{
		Addrs:         c.Addrs(),
		Username:      expand(c.Username),
		Password:      expand(c.Password),
		DB:            c.DB,
		IsClusterMode: c.Cluster,

		DialTimeout:  redisDialTimeout,
		ReadTimeout:  redisIOTimeout,
		WriteTimeout: redisIOTimeout,
		PoolTimeout:  redisPoolTimeout,
		MaxRetries:   redisMaxRetries,
		// go-redis dials five times a call by default, which would
		// multiply the bound.
		DialerRetries: 1,
		// A request's own deadline bounds its calls too.
		ContextTimeoutEnabled: true,
	}
	if s := c.Sentinel; s != nil {
		o.MasterName = s.Master
		o.SentinelPassword = expand(s.Password)
	}
	if t := c.TLS; t != nil {
		o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12, ServerName: t.ServerName}
		if t.CAFile != "" {
			pool, err := loadCAFile(t.CAFile)
			if err != nil {
				return nil, configErr("tls.ca_file", "%v", err)
			}
			o.TLSConfig.RootCAs = pool
		}
	}
	return o, nil
}

// OpenRedis checks c, connects (lazily: no call is made yet) and returns
// the store and its client, which the caller closes.
func OpenRedis(c *RedisConfig, expand func(string) string) (Store, redis.UniversalClient, error) {
	o, err := c.Options(expand)
	if err != nil {
		return nil, nil, err
	}
	client := redis.NewUniversalClient(o)
	return newRedis(client, c.KeyPrefix(), c.Sentinel != nil), client, nil
}
