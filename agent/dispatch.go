package agent

import (
	"context"
	"fmt"
	"sort"

	"github.com/twmb/franz-go/pkg/kmsg"
)

const (
	produceKey     = 0
	apiVersionsKey = 18
)

// handler answers one request by calling s.respond exactly once, now or
// later. Handlers run on the connection's read goroutine, in request order,
// so one that must wait (a long-poll fetch, a produce waiting for its flush)
// arranges to respond later instead of blocking the reader.
type handler func(ctx context.Context, s *slot)

// api is one registered API key.
type api struct {
	min, max int16
	handle   handler
}

// syncHandler adapts a handler that answers before it returns.
func syncHandler(fn func(ctx context.Context, r *request) (kmsg.Response, error)) handler {
	return func(ctx context.Context, s *slot) { s.respond(fn(ctx, s.req)) }
}

// register records an API's served versions and handler. Registering the
// same key twice is a programming error.
func (srv *Server) register(key, min, max int16, h handler) {
	if _, ok := srv.apis[key]; ok {
		panic(fmt.Sprintf("api key %d registered twice", key))
	}
	srv.apis[key] = api{min: min, max: max, handle: h}
}

func (srv *Server) registered(key int16) bool {
	_, ok := srv.apis[key]
	return ok
}

func (srv *Server) supports(key, version int16) bool {
	a, ok := srv.apis[key]
	return ok && version >= a.min && version <= a.max
}

// registerAPIs wires every API this agent serves. ApiVersions answers from
// this table, so what is advertised is always what is served.
func (srv *Server) registerAPIs() {
	srv.register(produceKey, 0, 11, srv.handleProduce)
	srv.register(1, 0, 12, srv.handleFetch)
	srv.register(2, 0, 7, syncHandler(srv.handleListOffsets))
	srv.register(3, 0, 12, syncHandler(srv.handleMetadata))
	srv.register(apiVersionsKey, 0, 3, syncHandler(srv.handleAPIVersions))
	srv.register(19, 0, 7, syncHandler(srv.handleCreateTopics))
	srv.register(20, 0, 6, syncHandler(srv.handleDeleteTopics))
	srv.register(22, 0, 5, syncHandler(srv.handleInitProducerID))
	srv.register(23, 0, 4, syncHandler(srv.handleOffsetForLeaderEpoch))
	srv.register(32, 0, 4, syncHandler(srv.handleDescribeConfigs))
	srv.register(33, 0, 2, syncHandler(srv.handleAlterConfigs))
	srv.register(37, 0, 3, syncHandler(srv.handleCreatePartitions))
	srv.register(44, 0, 1, syncHandler(srv.handleIncrementalAlterConfigs))
	srv.register(60, 0, 1, syncHandler(srv.handleDescribeCluster))
	srv.registerGroupAPIs()
}

// dispatch hands the request to its handler.
func (srv *Server) dispatch(ctx context.Context, s *slot) {
	if fn := srv.control(s.req); fn != nil {
		if resp, err, handled := fn(s.req.kreq); handled {
			srv.buf.Release(s.req.reserved)
			s.respond(resp, err)
			return
		}
	}
	srv.apis[s.req.kreq.Key()].handle(ctx, s)
}

// apiKeys lists the served APIs for ApiVersions, sorted by key.
func (srv *Server) apiKeys() []kmsg.ApiVersionsResponseApiKey {
	keys := make([]kmsg.ApiVersionsResponseApiKey, 0, len(srv.apis))
	for k, a := range srv.apis {
		ak := kmsg.NewApiVersionsResponseApiKey()
		ak.ApiKey, ak.MinVersion, ak.MaxVersion = k, a.min, a.max
		keys = append(keys, ak)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].ApiKey < keys[j].ApiKey })
	return keys
}
