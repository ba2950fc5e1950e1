package wiring

import (
	"fmt"
	"net/http"

	"github.com/pgcdc/pgcdc/config"
	"github.com/pgcdc/pgcdc/sinks/webhook"
)

// WebhookConfig is the one place a webhook sink's config.Sink, validated
// and defaulted by package config, becomes the sink's typed Config. It
// fails only on a config that did not go through config's validation.
func WebhookConfig(sc config.Sink) (webhook.Config, error) {
	w := sc.Webhook
	var key webhook.Key
	if w.Secret != "" {
		var err error
		if key, err = webhook.ParseKey(w.Secret); err != nil {
			return webhook.Config{}, fmt.Errorf("secret: %w", err)
		}
	}
	headers := make(http.Header, len(w.Headers))
	for name, value := range w.Headers {
		headers.Set(name, value)
	}
	return webhook.Config{
		Name:        sc.Name,
		URL:         w.URL,
		Headers:     headers,
		Timeout:     w.Timeout,
		Key:         key,
		CloudEvents: w.Format == config.FormatCloudEvents,
		MaxEvents:   w.Batch.MaxEvents,
		MaxBytes:    int(w.Batch.MaxBytes),
		MaxWait:     w.Batch.MaxWait,
		Retry:       webhook.Retry{Initial: w.Retry.Initial, Max: w.Retry.Max, MaxElapsed: w.Retry.MaxElapsed},
		DeadLetter:  w.DeadLetter,
		TLS: webhook.TLS{
			CAFile: w.TLS.CAFile, CertFile: w.TLS.CertFile, KeyFile: w.TLS.KeyFile,
			ServerName: w.TLS.ServerName, InsecureSkipVerify: w.TLS.InsecureSkipVerify,
		},
	}, nil
}
