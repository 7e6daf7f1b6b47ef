package agent

import (
	"context"

	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kmsg"
)

// ApiVersions: v0-3
//
// Behaviour:
//   - Lists every registered API with the versions it serves, each from 0, so
//     old clients' feature checks pass.
//   - A version we do not serve is answered with a v0 response carrying
//     UNSUPPORTED_VERSION and our ApiVersions range (KIP-511); the client
//     retries at a version we serve. That answer is made in conn.decode,
//     before the body is parsed.
//
// Version notes:
//   - v1: ThrottleMillis
//   - v3: flexible; ClientSoftwareName and ClientSoftwareVersion
func (srv *Server) handleAPIVersions(_ context.Context, r *request) (kmsg.Response, error) {
	resp := r.kreq.ResponseKind().(*kmsg.ApiVersionsResponse)
	resp.ApiKeys = srv.apiKeys()
	return resp, nil
}

// unsupportedAPIVersions is the KIP-511 fallback answer.
func unsupportedAPIVersions() kmsg.Response {
	resp := kmsg.NewPtrApiVersionsResponse()
	resp.Version = 0
	resp.ErrorCode = kerr.UnsupportedVersion.Code
	ak := kmsg.NewApiVersionsResponseApiKey()
	ak.ApiKey, ak.MinVersion, ak.MaxVersion = apiVersionsKey, 0, 3
	resp.ApiKeys = append(resp.ApiKeys, ak)
	return resp
}
