package notify

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Signed notices follow Standard Webhooks (standardwebhooks.com, the
// scheme Svix and others verify with ready-made libraries): each request
// carries webhook-id (one per notice, the same on every retry, so a
// receiver can drop duplicates), webhook-timestamp (Unix seconds of the
// attempt, so a receiver can refuse replays) and webhook-signature,
// "v1," + base64(HMAC-SHA256(secret, id + "." + timestamp + "." + body)).
const (
	HeaderID        = "webhook-id"
	HeaderTimestamp = "webhook-timestamp"
	HeaderSignature = "webhook-signature"
)

// secretPrefix marks a Standard Webhooks secret: the bytes after it are
// base64. Any other text is used as it is.
const secretPrefix = "whsec_"

// ParseSecret turns the contents of approvals.webhook_secret_file into the
// HMAC key: "whsec_" + base64 (as Standard Webhooks tools generate), or any
// other text as its bytes, surrounding white space removed. It returns an
// error for an empty secret, one shorter than 16 bytes, or bad base64.
func ParseSecret(text string) ([]byte, error) {
	text = strings.TrimSpace(text)
	key := []byte(text)
	if rest, ok := strings.CutPrefix(text, secretPrefix); ok {
		var err error
		if key, err = base64.StdEncoding.DecodeString(rest); err != nil {
			return nil, errors.New("the text after whsec_ is not base64")
		}
	}
	if len(key) < 16 {
		return nil, errors.New("the secret must be at least 16 bytes (24 random bytes in base64 after whsec_ is usual)")
	}
	return key, nil
}

// Signature is the webhook-signature value for one attempt.
func Signature(secret []byte, id string, at time.Time, body []byte) string {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(id + "." + strconv.FormatInt(at.Unix(), 10) + "."))
	mac.Write(body)
	return "v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// sign sets the Standard Webhooks headers on req.
func sign(req *http.Request, secret []byte, id string, at time.Time, body []byte) {
	req.Header.Set(HeaderID, id)
	req.Header.Set(HeaderTimestamp, strconv.FormatInt(at.Unix(), 10))
	req.Header.Set(HeaderSignature, Signature(secret, id, at, body))
}
