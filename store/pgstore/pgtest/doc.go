// Package pgtest gives tests a real, throwaway PostgreSQL database.
//
// With GATEHOUSE_TEST_POSTGRES_URL set, databases are created on that
// server (the role needs CREATEDB). Otherwise the first test that asks
// starts a private cluster with Debian's initdb and pg_ctl in a temporary
// directory, listening only on a Unix socket there; PostgreSQL refuses to
// run as root, so under root (as CI runs) the cluster belongs to the
// unprivileged postgres system user and is started through runuser. Main
// stops the cluster when the package's tests end. Nothing is mocked and
// nothing is downloaded: .ci/setup-postgres installs Debian's postgresql
// package when it is missing.
package pgtest
