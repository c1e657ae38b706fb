package vk

import (
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/SevereCloud/vksdk/v2/events"
	"github.com/SevereCloud/vksdk/v2/object"
	"github.com/otklik/otklik"
	"github.com/otklik/otklik/collectors"
	"github.com/prometheus/client_golang/prometheus"
)

// callbackEvent is one Callback API request.
type callbackEvent struct {
	Type    events.EventType `json:"type"`
	GroupID int              `json:"group_id"`
	EventID string           `json:"event_id"`
	Secret  string           `json:"secret"`
	Object  json.RawMessage  `json:"object"`
}

// parseCallback turns a Callback API event into publications: wall_post_new and
// wall_repost (posts), wall_reply_new / _edit / _restore (comments, threads included) and
// wall_reply_delete (a deleted comment). Other event types give none.
func parseCallback(ev callbackEvent, fetched time.Time) ([]otklik.Publication, error) {
	source := "vk:callback:" + strconv.Itoa(ev.GroupID)
	none := authors{users: map[int]object.UsersUser{}, groups: map[int]object.GroupsGroup{}}
	switch ev.Type {
	case events.EventWallPostNew, events.EventWallRepost:
		var p events.WallPostNewObject
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", collectors.ErrMalformed, ev.Type, err)
		}
		return []otklik.Publication{postPublication(object.WallWallpost(p), none, source, fetched)}, nil
	case events.EventWallReplyNew, events.EventWallReplyEdit, events.EventWallReplyRestore:
		var c object.WallWallComment
		if err := json.Unmarshal(ev.Object, &c); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", collectors.ErrMalformed, ev.Type, err)
		}
		owner := c.PostOwnerID
		if owner == 0 {
			owner = c.OwnerID
		}
		if owner == 0 {
			owner = -ev.GroupID
		}
		root := 0
		if len(c.ParentsStack) > 0 {
			root = c.ParentsStack[0]
		}
		pub := commentPublication(c, owner, c.PostID, root, none, source, fetched)
		if ev.Type == events.EventWallReplyEdit {
			pub.EditedAt = fetched
		}
		return []otklik.Publication{pub}, nil
	case events.EventWallReplyDelete:
		var d events.WallReplyDeleteObject
		if err := json.Unmarshal(ev.Object, &d); err != nil {
			return nil, fmt.Errorf("%w: %s: %v", collectors.ErrMalformed, ev.Type, err)
		}
		owner, post, id := strconv.Itoa(d.OwnerID), strconv.Itoa(d.PostID), strconv.Itoa(d.ID)
		return []otklik.Publication{{
			ID: otklik.DocID(otklik.VK, owner, post, id), Network: otklik.VK, Owner: owner, PostID: id, ParentID: post,
			Kind: otklik.Comment, URL: commentURL(d.OwnerID, d.PostID, d.ID, 0), Source: source, FetchedAt: fetched, Deleted: true,
		}}, nil
	}
	return nil, nil
}

// CallbackHandler returns the Callback API receiver the daemon mounts at /callbacks/vk.
// It answers the confirmation request with the configured string, rejects events
// without the configured secret, and answers "ok" only after the event's publications
// were delivered to sink (otherwise VK retries the event). Events that cannot be parsed
// are counted, logged and acknowledged: a retry would not change them.
func (v *VK) CallbackHandler(sink collectors.Sink, reg prometheus.Registerer, logger *slog.Logger) (http.Handler, error) {
	if len(v.cfg.Callback.Confirmations) == 0 {
		return nil, errors.New("vk: callback not configured (callback.confirmations)")
	}
	push, err := collectors.NewPush(otklik.VK, KindCallback, sink, reg)
	if err != nil {
		return nil, err
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, collectors.MaxBody))
		if err != nil {
			push.Fail(collectors.ReasonNetwork)
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		var ev callbackEvent
		if err := json.Unmarshal(body, &ev); err != nil {
			push.Fail(collectors.ReasonMalformed)
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		if ev.Type == events.EventConfirmation { // VK may send it before the secret is set
			c, ok := v.cfg.Callback.Confirmations[ev.GroupID]
			if !ok {
				push.Fail(collectors.ReasonSignature)
				http.Error(w, "unknown group", http.StatusForbidden)
				return
			}
			io.WriteString(w, c)
			return
		}
		if s := v.cfg.Callback.Secret.Reveal(); s != "" && subtle.ConstantTimeCompare([]byte(ev.Secret), []byte(s)) != 1 {
			push.Fail(collectors.ReasonSignature)
			http.Error(w, "bad secret", http.StatusForbidden)
			return
		}
		pubs, err := parseCallback(ev, v.now())
		if err != nil {
			push.Fail(collectors.ReasonMalformed)
			logger.Warn("vk callback event not understood", "type", string(ev.Type), "event_id", ev.EventID, "error", err.Error())
			io.WriteString(w, "ok")
			return
		}
		if err := push.Deliver(r.Context(), pubs); err != nil {
			if errors.Is(err, otklik.ErrInvalid) { // a retry would bring the same event
				logger.Warn("vk callback event invalid", "type", string(ev.Type), "event_id", ev.EventID, "error", err.Error())
				io.WriteString(w, "ok")
				return
			}
			http.Error(w, "not stored, retry", http.StatusInternalServerError)
			return
		}
		io.WriteString(w, "ok")
	}), nil
}
