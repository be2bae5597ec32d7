// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package azure

import (
	"encoding/json"
	"fmt"
	"os"
)

// StreamsFromTemplate reads the stream declarations of the data collection
// rule in an ARM template (deploy/azure/policyaudit.json): the peer then
// holds the exporter to the DCR users deploy.
func StreamsFromTemplate(path string) (map[string][]Column, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var tpl struct {
		Resources []struct {
			Type       string `json:"type"`
			Properties struct {
				StreamDeclarations map[string]struct {
					Columns []Column `json:"columns"`
				} `json:"streamDeclarations"`
			} `json:"properties"`
		} `json:"resources"`
	}
	if err := json.Unmarshal(data, &tpl); err != nil {
		return nil, err
	}
	for _, r := range tpl.Resources {
		if r.Type != "Microsoft.Insights/dataCollectionRules" {
			continue
		}
		out := map[string][]Column{}
		for name, d := range r.Properties.StreamDeclarations {
			out[name] = d.Columns
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s: no data collection rule", path)
}
