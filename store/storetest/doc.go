// Package storetest is the conformance suite for store.Store backends. Every
// backend's tests call Run with a constructor for a fresh, empty store; the
// suite then drives the backend only through the store interfaces, so a
// PostgreSQL backend is held to exactly the behaviour the bbolt one is.
package storetest
