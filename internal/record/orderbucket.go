// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

package record

import "hash/fnv"

// OrderBucket is the bucket of a correlation ID among buckets (FNV-1a of
// its bytes, modulo buckets): the policydecision processor's order_key,
// the same on every collector, so every record of one request shares it.
func OrderBucket(correlationID string, buckets int) uint32 {
	h := fnv.New32a()
	_, _ = h.Write([]byte(correlationID))
	return h.Sum32() % uint32(buckets)
}
