package pgstore

// SweepLockKey is the sweeper's advisory lock, for tests that hold it.
var SweepLockKey = lockSweep
