package discordtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// gatewayConn is one websocket client of the fake gateway.
type gatewayConn struct {
	ws    *websocket.Conn
	wmu   sync.Mutex // gorilla allows one writer at a time
	ready bool       // READY or RESUMED was sent
}

func (c *gatewayConn) write(v any) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.ws.WriteJSON(v)
}

// payload is a gateway frame.
type payload struct {
	Op int             `json:"op"`
	D  json.RawMessage `json:"d,omitempty"`
	S  *int64          `json:"s,omitempty"`
	T  string          `json:"t,omitempty"`
}

type outFrame struct {
	Op int    `json:"op"`
	D  any    `json:"d"`
	S  *int64 `json:"s,omitempty"`
	T  string `json:"t,omitempty"`
}

// ErrNoGateway is returned by Dispatch when no gateway session is ready.
var ErrNoGateway = errors.New("discordtest: no gateway session")

func (s *Server) websocket(w http.ResponseWriter, r *http.Request) {
	ws, err := s.up.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &gatewayConn{ws: ws}
	s.mu.Lock()
	if old := s.conn; old != nil {
		_ = old.ws.Close()
	}
	s.conn = c
	s.mu.Unlock()
	defer func() {
		s.mu.Lock()
		if s.conn == c {
			s.conn = nil
		}
		s.notifyLocked()
		s.mu.Unlock()
		_ = ws.Close()
	}()

	if err := c.write(outFrame{Op: 10, D: map[string]any{"heartbeat_interval": s.opts.HeartbeatInterval.Milliseconds()}}); err != nil {
		return
	}
	for {
		var p payload
		if err := ws.ReadJSON(&p); err != nil {
			return
		}
		switch p.Op {
		case 1: // heartbeat
			if err := c.write(outFrame{Op: 11}); err != nil {
				return
			}
		case 2: // identify
			var id struct {
				Token string `json:"token"`
			}
			_ = json.Unmarshal(p.D, &id)
			if s.opts.Token != "" && id.Token != "Bot "+s.opts.Token && id.Token != s.opts.Token {
				_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(4004, "Authentication failed."), time.Now().Add(time.Second))
				return
			}
			s.mu.Lock()
			s.sessions++
			session := "session-" + strconv.Itoa(s.sessions)
			s.mu.Unlock()
			ready := map[string]any{
				"v":                  10,
				"session_id":         session,
				"user":               s.botUser(),
				"application":        map[string]any{"id": s.opts.AppID, "flags": 0},
				"guilds":             []any{},
				"resume_gateway_url": "ws" + s.http.URL[len("http"):] + "/ws/",
			}
			if err := s.sendDispatch(c, "READY", ready, func() { s.identifies++ }); err != nil {
				return
			}
		case 6: // resume
			if err := s.sendDispatch(c, "RESUMED", map[string]any{}, func() { s.resumes++ }); err != nil {
				return
			}
		}
	}
}

// sendDispatch writes a dispatch frame with the next sequence number; on
// success it marks the connection ready and calls record with s.mu held.
func (s *Server) sendDispatch(c *gatewayConn, t string, d any, record func()) error {
	s.mu.Lock()
	s.seq++
	seq := s.seq
	s.mu.Unlock()
	if err := c.write(outFrame{Op: 0, D: d, S: &seq, T: t}); err != nil {
		return err
	}
	s.mu.Lock()
	c.ready = true
	if record != nil {
		record()
	}
	s.notifyLocked()
	s.mu.Unlock()
	return nil
}

// Dispatch sends an event (op 0) of type t with data d on the current
// gateway session, waiting for one to be ready if needed.
func (s *Server) Dispatch(ctx context.Context, t string, d any) error {
	var c *gatewayConn
	err := s.Wait(ctx, func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.conn != nil && s.conn.ready {
			c = s.conn
			return true
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("dispatch %s: %w: %w", t, ErrNoGateway, err)
	}
	if err := s.sendDispatch(c, t, d, nil); err != nil {
		return fmt.Errorf("dispatch %s: %w", t, err)
	}
	return nil
}

// DropGateway closes the current gateway connection abruptly (no close
// frame), as a network failure would; the client is expected to reconnect.
func (s *Server) DropGateway() {
	s.mu.Lock()
	c := s.conn
	s.conn = nil
	s.mu.Unlock()
	if c != nil {
		_ = c.ws.NetConn().Close()
	}
}
