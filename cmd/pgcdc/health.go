package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"
)

func newHealthCmd() *cobra.Command {
	var target string
	var timeout time.Duration
	cmd := &cobra.Command{
		Use:   "health",
		Short: "Ask a running pgcdc whether it is ready: exit 0 on HTTP 200, 1 otherwise (for container health checks)",
		Long: `health sends GET --url (default: /readyz on 127.0.0.1:8080) and exits 0 when it
answers 200, 1 otherwise (not listening, no answer within --timeout, any other
status), with one line on stderr either way. Redirects are not followed and no
proxy is used. It reads no config: point --url at server.listen when that is
not 127.0.0.1:8080 or 0.0.0.0:8080.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := url.Parse(target)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
				return withCode(exitUsage, fmt.Errorf("--url is %q, want an http:// URL such as http://127.0.0.1:8080/readyz", target))
			}
			if timeout <= 0 {
				return withCode(exitUsage, fmt.Errorf("--timeout is %s, want a positive duration", timeout))
			}
			status, err := probe(cmd.Context(), u.String(), timeout)
			if err != nil {
				return fmt.Errorf("not healthy: %w", err)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "pgcdc: %s answered %s\n", u, status)
			return nil
		},
	}
	cmd.Flags().StringVar(&target, "url", "http://127.0.0.1:8080/readyz", "the readiness endpoint to ask")
	cmd.Flags().DurationVar(&timeout, "timeout", 5*time.Second, "longest wait for the answer")
	return cmd
}

// probe GETs target and returns its status when it is 200; any other
// answer is an error carrying the start of the body on one line.
func probe(ctx context.Context, target string, timeout time.Duration) (string, error) {
	client := &http.Client{
		Timeout:       timeout,
		Transport:     &http.Transport{Proxy: nil, DisableKeepAlives: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s answered %s: %s", target, resp.Status, strings.Join(strings.Fields(string(body)), " "))
	}
	return resp.Status, nil
}
