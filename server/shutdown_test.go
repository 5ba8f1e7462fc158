package server

import (
	"context"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestGracefulShutdown starts a request, begins the shutdown while the
// request body is still arriving, and checks the request completes, new
// connections are refused, and Serve returns cleanly. Nothing waits on
// the wall clock: the shutdown begins once the server has read all that
// was sent and is waiting for the rest of the body, and the shutdown
// timeout is far longer than any machine needs to finish the request.
func TestGracefulShutdown(t *testing.T) {
	env := newTestEnv(t)
	env.addUser("alice", "correct horse")
	_, page := env.get(loginPath)
	token := csrfFrom(t, page)
	var cookies []string
	for _, c := range env.client.Jar.Cookies(mustURL(env.http.URL)) {
		cookies = append(cookies, c.Name+"="+c.Value)
	}

	body := "csrf_token=" + token + "&username=alice&password=correct+horse"
	half := len(body) / 2
	raw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	head := "POST /login HTTP/1.1\r\nHost: " + raw.Addr().String() + "\r\nContent-Type: application/x-www-form-urlencoded\r\n" +
		"Cookie: " + strings.Join(cookies, "; ") + "\r\nContent-Length: " + itoa(len(body)) + "\r\nConnection: close\r\n\r\n"
	ln := &readWatchListener{Listener: raw, after: len(head) + half, waiting: make(chan struct{})}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- env.srv.Serve(ctx, ln, nil, generousDeadline) }()

	conn, err := net.Dial("tcp", raw.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(head + body[:half])); err != nil {
		t.Fatal(err)
	}
	<-ln.waiting // the handler is reading the body: the request is in flight
	cancel()
	// Wait until the listener is closed: new connections are refused. The
	// bound only stops a broken shutdown from hanging the test.
	deadline := time.Now().Add(generousDeadline)
	for {
		c, err := net.DialTimeout("tcp", raw.Addr().String(), time.Second)
		if err != nil {
			break
		}
		c.Close()
		if time.Now().After(deadline) {
			t.Fatal("listener still accepting after shutdown began")
		}
		time.Sleep(10 * time.Millisecond)
	}
	if _, err := conn.Write([]byte(body[half:])); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufioReader(conn), nil)
	if err != nil {
		t.Fatalf("in-flight request was cut off: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("in-flight login = %d, want 303", resp.StatusCode)
	}
	select {
	case err := <-served:
		if err != nil {
			t.Fatalf("Serve returned %v", err)
		}
	case <-time.After(generousDeadline):
		t.Fatal("Serve did not return after the in-flight request finished")
	}
}

// readWatchListener closes waiting when the server, having read `after`
// bytes from the first connection it accepted, asks for more: it has
// parsed the request head (the connection is active, so a shutdown must
// wait for it) and its handler is reading the rest of the body.
type readWatchListener struct {
	net.Listener
	after   int
	waiting chan struct{}
	once    sync.Once
	first   sync.Once
}

func (l *readWatchListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return c, err
	}
	watched := c
	l.first.Do(func() { watched = &readWatchConn{Conn: c, l: l} })
	return watched, nil
}

type readWatchConn struct {
	net.Conn
	l    *readWatchListener
	read int
}

func (c *readWatchConn) Read(p []byte) (int, error) {
	if c.read >= c.l.after {
		c.l.once.Do(func() { close(c.l.waiting) })
	}
	n, err := c.Conn.Read(p)
	c.read += n
	return n, err
}
