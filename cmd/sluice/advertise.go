package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/sluicehq/sluice/agent"
)

// ecsMetadataEnv names the ECS task metadata endpoint (v4), set by the ECS
// agent in every container of a task.
const ecsMetadataEnv = "ECS_CONTAINER_METADATA_URI_V4"

// ecsTimeout bounds each read of the task metadata endpoint, which is local
// to the task.
const ecsTimeout = 2 * time.Second

// detectAdvertise fills in --advertise, and --zone, when they are left
// empty, as they are in a container whose address is known only once it
// runs, and logs what it chose:
//   - on ECS, the task's address and availability zone from the task
//     metadata endpoint;
//   - else a listen address with a specific host (127.0.0.1 included) is
//     advertised as it is;
//   - else, for a wildcard listen address, the first address of an
//     interface that is up and not loopback.
func detectAdvertise(ctx context.Context, cfg *agent.Config, log *slog.Logger) {
	if cfg.Validate() != nil {
		return // agent.New says why
	}
	host, port, _ := net.SplitHostPort(cfg.Listen)
	if uri := os.Getenv(ecsMetadataEnv); uri != "" && (cfg.Advertise == "" || cfg.Zone == "") {
		ip, zone, err := readECSMetadata(ctx, uri)
		if err != nil {
			log.Warn("reading the ECS task metadata; looking at the interfaces instead", "err", err)
		}
		if cfg.Advertise == "" && ip != "" {
			cfg.Advertise = net.JoinHostPort(ip, port)
			log.Info("advertising the ECS task address", "advertise", cfg.Advertise)
		}
		if cfg.Zone == "" && zone != "" {
			cfg.Zone = zone
			log.Info("zone from the ECS task metadata", "zone", zone)
		}
	}
	if cfg.Advertise != "" {
		return
	}
	if ip := net.ParseIP(host); host != "" && (ip == nil || !ip.IsUnspecified()) {
		cfg.Advertise = cfg.Listen
		log.Info("advertising the listen address", "advertise", cfg.Advertise)
		return
	}
	addrs, err := net.InterfaceAddrs()
	if ip := firstRoutable(addrs); err == nil && ip != "" {
		cfg.Advertise = net.JoinHostPort(ip, port)
		log.Info("advertising the first non-loopback interface address", "advertise", cfg.Advertise)
		return
	}
	log.Warn("no non-loopback interface address found; advertising 127.0.0.1, which only clients on this host can dial", "err", err)
}

// firstRoutable is the first IPv4 address of addrs that is neither
// loopback nor link-local, else the first such IPv6 one, else "".
func firstRoutable(addrs []net.Addr) string {
	var v6 string
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() || ipn.IP.IsUnspecified() {
			continue
		}
		if ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
		if v6 == "" {
			v6 = ipn.IP.String()
		}
	}
	return v6
}

// readECSMetadata returns the container's first IPv4 address and the task's
// availability zone; either may be empty when the endpoint does not say.
func readECSMetadata(ctx context.Context, uri string) (ip, zone string, err error) {
	var container struct {
		Networks []struct {
			IPv4Addresses []string `json:"IPv4Addresses"`
		} `json:"Networks"`
	}
	if err := getJSON(ctx, uri, &container); err != nil {
		return "", "", err
	}
	for _, n := range container.Networks {
		if len(n.IPv4Addresses) > 0 {
			ip = n.IPv4Addresses[0]
			break
		}
	}
	var task struct {
		AvailabilityZone string `json:"AvailabilityZone"`
	}
	if err := getJSON(ctx, uri+"/task", &task); err != nil {
		return ip, "", err
	}
	return ip, task.AvailabilityZone, nil
}

func getJSON(ctx context.Context, url string, v any) error {
	ctx, cancel := context.WithTimeout(ctx, ecsTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("reading %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("reading %s: %s", url, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("decoding %s: %w", url, err)
	}
	return nil
}
