// Command gatehouse is the Gatehouse authorization server and its
// operator CLI.
//
//	gatehouse serve                  run the server
//	gatehouse config check           validate and print the effective settings
//	gatehouse keys rotate | list     manage token signing keys
//	gatehouse user add|list|delete|passwd|logout NAME
//
// This package is the composition root: it alone reads configuration
// (flags > GATEHOUSE_* environment > YAML file > defaults), opens the store
// and wires the packages together. See docs/configuration.md for every key.
package main
