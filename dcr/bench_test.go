package dcr

import (
	"testing"
	"time"

	"github.com/gatehouse-dev/gatehouse/internal/benchcpu"
)

// BenchmarkValidate: a registration body through the JSON gate, decoding,
// and every metadata rule (no store, no IDs): what /register spends before
// its commit.
func BenchmarkValidate(b *testing.B) {
	svc := New(DefaultConfig(), nil, time.Now, nil)
	cfg := svc.cfg.Load()
	for name, body := range map[string]string{
		"inspector": inspectorBody,
		"load":      `{"redirect_uris":["http://127.0.0.1/callback"],"token_endpoint_auth_method":"none","client_name":"load-1764478490123456789-42"}`,
	} {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			defer benchcpu.Start(b)()
			for b.Loop() {
				if _, _, _, err := svc.validate(cfg, []byte(body)); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
