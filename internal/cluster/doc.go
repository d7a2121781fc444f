// Package cluster holds the tests that run the built caddy binary as
// several processes sharing one store (Redis, or one directory through
// Caddy's file_system storage): logins whose steps land on different
// instances, single use of exchange tokens under concurrent redemption,
// key rotation seen by every instance, Redis killed and restarted under
// load, body limits and slow clients, and a search of every log line and
// error body for the secrets the instances were given. The package has no
// code of its own: its tests live in *_test.go.
package cluster
