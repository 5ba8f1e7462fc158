// Package benchcpu adds a CPU-time metric to Go benchmarks.
//
// The machines Gatehouse is measured on are shared: with other work on the
// same cores, a benchmark's wall time (ns/op) stretches with the load, two
// or three times over on a busy day. The process's CPU time per operation
// (user plus system, all threads, garbage collection included) moves far
// less, so before/after comparisons report both and benchstat compares
// either (cpu-ns/op beside ns/op).
package benchcpu
