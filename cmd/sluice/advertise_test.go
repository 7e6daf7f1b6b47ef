package main

import (
	"flag"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/sluicehq/sluice/agent"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// config is the flag defaults with listen, advertise and zone set.
func config(listen, advertise, zone string) agent.Config {
	var cfg agent.Config
	cfg.RegisterFlags("", flag.NewFlagSet("test", flag.PanicOnError))
	cfg.Listen, cfg.Advertise, cfg.Zone = listen, advertise, zone
	return cfg
}

func TestDetectAdvertiseECS(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/v4/abc", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"DockerId":"abc","Networks":[{"NetworkMode":"awsvpc","IPv4Addresses":["10.0.2.106"]}]}`)
	})
	mux.HandleFunc("/v4/abc/task", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, `{"Cluster":"c","AvailabilityZone":"us-east-2b"}`)
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	t.Setenv(ecsMetadataEnv, ts.URL+"/v4/abc")

	cfg := config(":9092", "", "")
	detectAdvertise(t.Context(), &cfg, quiet)
	if cfg.Advertise != "10.0.2.106:9092" || cfg.Zone != "us-east-2b" {
		t.Errorf("advertise %q zone %q, want 10.0.2.106:9092 us-east-2b", cfg.Advertise, cfg.Zone)
	}

	// What the operator set is kept.
	cfg = config(":9092", "kafka.example:9092", "z")
	detectAdvertise(t.Context(), &cfg, quiet)
	if cfg.Advertise != "kafka.example:9092" || cfg.Zone != "z" {
		t.Errorf("advertise %q zone %q changed", cfg.Advertise, cfg.Zone)
	}
}

func TestDetectAdvertiseListen(t *testing.T) {
	t.Setenv(ecsMetadataEnv, "")
	for _, listen := range []string{"127.0.0.1:9092", "127.0.0.1:0", "10.1.2.3:9092", "localhost:9092"} {
		cfg := config(listen, "", "")
		detectAdvertise(t.Context(), &cfg, quiet)
		if cfg.Advertise != listen {
			t.Errorf("listen %s: advertise %q, want the listen address", listen, cfg.Advertise)
		}
	}
	cfg := config(":9092", "", "")
	detectAdvertise(t.Context(), &cfg, quiet)
	if host, port, _ := net.SplitHostPort(cfg.Advertise); cfg.Advertise != "" && (port != "9092" || net.ParseIP(host).IsLoopback()) {
		t.Errorf("listen :9092: advertise %q, want a non-loopback address on port 9092", cfg.Advertise)
	}
}

func TestFirstRoutable(t *testing.T) {
	nets := func(cidrs ...string) []net.Addr {
		var out []net.Addr
		for _, c := range cidrs {
			ip, n, _ := net.ParseCIDR(c)
			n.IP = ip
			out = append(out, n)
		}
		return out
	}
	for want, addrs := range map[string][]net.Addr{
		"10.0.0.5":    nets("127.0.0.1/8", "::1/128", "fe80::1/64", "10.0.0.5/24"),
		"2001:db8::1": nets("127.0.0.1/8", "2001:db8::1/64"),
		"":            nets("127.0.0.1/8", "169.254.1.1/16"),
		"192.0.2.7":   nets("2001:db8::1/64", "192.0.2.7/24", "10.0.0.5/8"),
	} {
		if got := firstRoutable(addrs); got != want {
			t.Errorf("firstRoutable(%v) = %q, want %q", addrs, got, want)
		}
	}
}

// An invalid configuration is left for agent.New to explain, in one line.
func TestDetectAdvertiseInvalid(t *testing.T) {
	cfg := config(":9092", "", "")
	cfg.MaxRequestBytes = 0
	detectAdvertise(t.Context(), &cfg, quiet)
	if cfg.Advertise != "" {
		t.Errorf("advertise %q set for an invalid configuration", cfg.Advertise)
	}
}
