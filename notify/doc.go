// Package notify tells operators about events that wait for them: a JSON
// notice POSTed to the approval queue's webhook (approvals.webhook_url)
// for each client newly waiting for an administrator.
//
// Notices are best effort by design: they travel in the background, so a
// slow or dead receiver never delays the user whose request queued the
// client, and they are retried a few times with backoff. The queue itself
// lives in the store; `gatehouse admin clients pending` always shows what
// a lost notice would have said.
package notify
