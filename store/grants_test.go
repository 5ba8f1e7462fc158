package store

import (
	"testing"
	"time"
)

func TestWithinGrace(t *testing.T) {
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name  string
		now   time.Time
		grace time.Duration
		want  bool
	}{
		{"strict, same instant", at, 0, false},
		{"strict, negative grace", at, -time.Second, false},
		{"same instant", at, 10 * time.Second, true},
		{"inside", at.Add(9 * time.Second), 10 * time.Second, true},
		{"boundary is inside", at.Add(10 * time.Second), 10 * time.Second, true},
		{"one nanosecond past", at.Add(10*time.Second + 1), 10 * time.Second, false},
		{"long past", at.Add(24 * time.Hour), 10 * time.Second, false},
		{"clock went backwards", at.Add(-time.Second), 10 * time.Second, true},
	}
	for _, tt := range tests {
		if got := WithinGrace(at, tt.now, tt.grace); got != tt.want {
			t.Errorf("%s: WithinGrace = %v, want %v", tt.name, got, tt.want)
		}
	}
}
