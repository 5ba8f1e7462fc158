package server

import (
	"context"
	"log/slog"

	"github.com/labstack/echo/v4"
)

// paceAccount applies the per-account limit before a password check: an
// account whose failures, from every address, are past
// login.max_failures_per_account is slowed, never refused outright. Its
// checks run one per login.account_slowdown (per instance), each request
// waiting for its turn; the right password still signs in. Only when the
// queue is longer than maxSlowedWait (a flood of concurrent guesses) does
// the request get 429 with the wait, which it returns.
//
// A failure to read the count is logged and the check goes ahead: the
// per-address limits still hold, and a store hiccup must not lock users
// out.
func (s *Server) paceAccount(c echo.Context, log *slog.Logger, account, ip string) (refusedFor int, err error) {
	ctx := c.Request().Context()
	lim := s.cfg.Login
	if lim.MaxFailuresAccount < 1 {
		return 0, nil // no per-account limit configured
	}
	level, err := s.loginFailures.LoginFailureLevel(ctx, account, s.now(), lim.leak())
	if err != nil {
		log.Error("read the account's sign-in failures", "username", account, "err", err)
		return 0, nil
	}
	if level < float64(lim.MaxFailuresAccount) {
		return 0, nil
	}
	wait, ok, err := s.loginFailures.ReserveLoginCheck(ctx, account, s.now(), lim.AccountSlowdown, maxSlowedWait)
	if err != nil {
		log.Error("reserve the account's sign-in check", "username", account, "err", err)
		return 0, nil
	}
	s.metrics.loginPaced()
	Audit(ctx, log, AuditLoginSlowed, "username", account, "ip", ip, "failure_level", int(level), "wait", wait.String(), "queued", ok)
	if !ok {
		return int(wait.Seconds() + 0.999), nil
	}
	if wait > 0 {
		if err := s.sleep(ctx, wait); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

// recordAccountFailure counts a failed sign-in against the account, for
// every instance that shares the count.
func (s *Server) recordAccountFailure(ctx context.Context, log *slog.Logger, account string) {
	if s.cfg.Login.MaxFailuresAccount < 1 {
		return
	}
	if _, err := s.loginFailures.AddLoginFailure(ctx, account, s.now(), s.cfg.Login.leak()); err != nil {
		log.Error("record the account's sign-in failure", "username", account, "err", err)
	}
}
