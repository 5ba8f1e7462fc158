package main

import "context"

func soakMain(ctx context.Context, args []string) bool { return false }
