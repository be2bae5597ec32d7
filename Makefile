# policyaudit: the two commands of the README are `make run` and `make test`.

GO       ?= go
DIST_DIR := cmd/otelcol-policyaudit
BIN      := $(CURDIR)/bin
COLLECTOR := $(BIN)/otelcol-policyaudit
OPA_VERSION := v1.22.2
OPA      := $(BIN)/opa
VERSITYGW_VERSION := v1.8.0
VERSITYGW := $(BIN)/versitygw
# The LiteLLM proxy of the end-to-end test (the newest release whose
# dependencies the package mirror here serves), in its own virtualenv.
LITELLM_VERSION := 1.105.0
LITELLM  := $(BIN)/litellm/bin/litellm
# Apache Kafka's jars (the version is the pom's) for a KRaft cluster in the
# tests (test/harness/kafka.go); the stamp says the copy finished.
KAFKA_POM := test/harness/kafka/pom.xml
KAFKA    := $(BIN)/kafka/.installed
# Elasticsearch's server and HTTP transport jars (the version is the pom's)
# and the small main that starts a node from them (test/harness/elasticsearch.go),
# compiled and run with Java 25: Elasticsearch 9 needs Java 21 or later, and
# Debian 12 packages only 17. The machine image ships Temurin 25 in
# /usr/lib/jvm (not from a Debian package); JAVA25_HOME names another.
ES_SRC   := test/harness/elasticsearch
ELASTICSEARCH := $(BIN)/elasticsearch/.installed
JAVA25_HOME ?= /usr/lib/jvm/temurin-25-jdk-amd64
# promtool, from Debian's prometheus package unpacked into bin/ (no daemon
# installed): it checks and tests deploy/prometheus's rules.
PROMTOOL := $(BIN)/promtool
# Elastic's EQL parser (PyPI), in its own virtualenv, for the detection
# rule's check in test/siem.
EQL_VERSION := 1.0.1
EQL := $(BIN)/eql/bin/python
METADATA := $(shell find receiver processor connector extension exporter -name metadata.yaml 2>/dev/null)

.PHONY: all build run demo chromium postgresql bench-fleet screenshots image container-tools test-deploy bench bench-generate test test-reliability test-unit fuzz generate check-generate tools fmt vet clean bench-auditstore mutants

all: build

## build: compile the distribution from the committed ocb sources (no code generation).
build:
	cd $(DIST_DIR) && $(GO) build -trimpath -o $(COLLECTOR) .

## run: build and start the distribution on its embedded default, in the foreground.
run: build
	$(COLLECTOR) --config config/default.yaml

## test: unit, golden-file and end-to-end tests (the end-to-end ones start the
## built distribution, a real OPA and a real S3 server), then the image and
## the Kubernetes manifests (test-deploy).
test: build tools check-generate vet image
	POLICYAUDIT_BIN=$(COLLECTOR) OPA_BIN=$(OPA) VERSITYGW_BIN=$(VERSITYGW) LITELLM_BIN=$(LITELLM) KAFKA_LIBS=$(BIN)/kafka PROMTOOL_BIN=$(PROMTOOL) EQL_PYTHON=$(EQL) $(GO) test -count=1 -timeout 20m $$($(GO) list ./... | grep -v /test/reliability)
	$(MAKE) test-deploy

## test-deploy: the image and deploy/kubernetes: every manifest checked
## offline, and the sidecar pod run under podman kube play (test/deploy, a
## module of its own: kustomize stays out of the distribution's build).
test-deploy:
	cd test/deploy && $(GO) vet ./... && POLICYAUDIT_BIN=$(COLLECTOR) POLICYAUDIT_IMAGE=$(IMAGE) POLICYAUDIT_SIM_IMAGE=$(SIM_IMAGE) \
		$(GO) test -count=1 -v -timeout 15m ./...

## test-reliability: delivery under faults (destinations down for 1 and 6
## minutes while 50,000 records arrive, SIGKILL mid-export, a full queue);
## about 8 minutes, so apart from `make test`; CI runs both.
test-reliability: build tools
	POLICYAUDIT_BIN=$(COLLECTOR) VERSITYGW_BIN=$(VERSITYGW) $(GO) test -count=1 -v -timeout 20m ./test/reliability/

## fuzz: every fuzz target for FUZZTIME each (CI runs it after test). New
## inputs that widen coverage land in the Go cache; `make fuzz-corpus`
## copies them into the packages' testdata/fuzz, where `go test` replays them.
FUZZTIME ?= 15s
FUZZ_TARGETS := internal/jsonbody:FuzzSplit internal/jsonbody:FuzzArrayScan internal/jsonbody:FuzzScanRecord internal/record:FuzzNormalize internal/record:FuzzReadCanonical internal/record:FuzzContent internal/pdatajson:FuzzCanonicalRoundTrip receiver/policygatewayreceiver:FuzzEndpoints
fuzz:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		echo "fuzz $$pkg $$name for $(FUZZTIME)"; \
		$(GO) test ./$$pkg -run '^$$' -fuzz "^$$name\$$" -fuzztime $(FUZZTIME) || exit 1; done

fuzz-corpus:
	@for t in $(FUZZ_TARGETS); do pkg=$${t%%:*}; name=$${t##*:}; \
		src=$$($(GO) env GOCACHE)/fuzz/github.com/policyaudit/policyaudit/$$pkg/$$name; \
		mkdir -p $$pkg/testdata/fuzz/$$name && cp -n $$src/* $$pkg/testdata/fuzz/$$name/ 2>/dev/null; \
		echo "$$pkg/testdata/fuzz/$$name: $$(ls $$pkg/testdata/fuzz/$$name | wc -l) inputs"; done

## mutants: plant, one at a time, the bugs listed in test/mutants behind the
## README's guarantees and require each package's tests to catch them (about
## four minutes, most of it the Kafka example's and the Elasticsearch 429
## test; CI runs it).
mutants: build $(VERSITYGW) $(KAFKA) $(ELASTICSEARCH) $(PROMTOOL)
	POLICYAUDIT_BIN=$(COLLECTOR) VERSITYGW_BIN=$(VERSITYGW) KAFKA_LIBS=$(BIN)/kafka PROMTOOL_BIN=$(PROMTOOL) $(GO) run ./test/mutants

## test-unit: the tests that need no binary (nor the peers).
test-unit:
	$(GO) test -count=1 $$($(GO) list ./... | grep -v -e /test/e2e -e /test/reliability)

## generate: re-run mdatagen for every component and ocb for the distribution.
generate:
	@for m in $(METADATA); do (cd $$(dirname $$m) && $(GO) tool mdatagen metadata.yaml) || exit 1; done
	$(GO) tool builder --config builder-config.yaml --skip-compilation
	gofmt -w $(DIST_DIR)/*.go

## check-generate: generated sources are committed and up to date, the
## components' README status tables (mdatagen's autogenerated section) too.
check-generate: generate
	@git diff --exit-code -- $(DIST_DIR) ':!$(DIST_DIR)/go.sum' ':(glob)**/internal/metadata/**' ':(glob)**/internal/metadatatest/**' \
		':(glob)**/generated_*_test.go' ':(glob)**/documentation.md' $(addsuffix README.md,$(dir $(METADATA))) \
		|| { echo "make generate changed generated files: commit them"; exit 1; }
	@untracked=$$(git ls-files --others --exclude-standard -- $(DIST_DIR) '**/internal/metadata/**' '**/internal/metadatatest/**' \
		'**/generated_*_test.go' '**/documentation.md'); \
		if [ -n "$$untracked" ]; then echo "make generate wrote files git does not track: add them"; echo "$$untracked"; exit 1; fi

## tools: test peers, installed into ./bin from the module proxy: a real OPA
## (decision logs), versitygw (S3), DuckDB (npm) and the LiteLLM proxy
## (PyPI, in a virtualenv); Apache Kafka's jars (Maven Central, with Maven;
## Debian's Maven and Java 17 when there are none); and Debian's Chromium for
## the console's browser test and PostgreSQL for the shared store's (apt-get,
## needs root; skipped when installed); promtool from Debian's prometheus
## package (unpacked, not installed); Elastic's EQL parser (PyPI), the Kusto
## language service and Grafana's schema with TypeScript (npm) for the SIEM
## content's checks. The S3 test also needs the AWS CLI
## and Node.js.
tools: $(OPA) $(VERSITYGW) $(LITELLM) $(KAFKA) $(ELASTICSEARCH) $(PROMTOOL) $(EQL) test/e2e/duckdb/node_modules test/siem/kusto/node_modules test/siem/grafana/node_modules chromium postgresql
$(OPA):
	GOBIN=$(BIN) $(GO) install github.com/open-policy-agent/opa@$(OPA_VERSION)
$(LITELLM):
	python3 -m venv $(BIN)/litellm
	$(BIN)/litellm/bin/pip install --quiet --disable-pip-version-check 'litellm[proxy]==$(LITELLM_VERSION)'
$(VERSITYGW):
	GOBIN=$(BIN) $(GO) install github.com/versity/versitygw/cmd/versitygw@$(VERSITYGW_VERSION)
$(EQL):
	python3 -m venv $(BIN)/eql
	$(BIN)/eql/bin/pip install --quiet --disable-pip-version-check 'eql==$(EQL_VERSION)'
$(PROMTOOL):
	rm -rf $(BIN)/prometheus.tmp && mkdir -p $(BIN)/prometheus.tmp
	cd $(BIN)/prometheus.tmp && { apt-get download prometheus 2>/dev/null || { apt-get update -qq && apt-get download prometheus; }; } && \
		dpkg-deb -x prometheus_*.deb unpacked
	mv $(BIN)/prometheus.tmp/unpacked/usr/bin/promtool $(PROMTOOL)
	rm -rf $(BIN)/prometheus.tmp
# PostgreSQL 15 from Debian (the shared audit store's tests start their own
# server on 127.0.0.1, in a temporary directory: test/peers/pgpeer).
postgresql:
	@ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || command -v initdb >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql; }
# Kafka 4 runs on Java 17; Maven copies the jars the pom resolves (47, 44 MB)
# into a fresh directory, renamed into place only once complete, so an
# interrupted download is not taken for an installed one.
$(KAFKA): $(KAFKA_POM)
	@command -v mvn >/dev/null && command -v java >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven openjdk-17-jre-headless; }
	rm -rf $(BIN)/kafka $(BIN)/kafka.tmp
	mvn -q -B -Dstyle.color=never -f $(KAFKA_POM) dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(BIN)/kafka.tmp
	touch $(BIN)/kafka.tmp/.installed
	mv $(BIN)/kafka.tmp $(BIN)/kafka
# Elasticsearch: Maven copies the jars the pom resolves into lib/ (the
# module path); the transport-netty4 module's jar, Netty's jars and its
# plugin descriptor go to modules/transport-netty4, where the node loads
# them as the distribution lays them out; javac compiles EmbeddedNode
# against lib/. The JDK's path is kept beside them for the harness. All of
# it in a fresh directory, renamed into place once complete.
$(ELASTICSEARCH): $(ES_SRC)/pom.xml $(ES_SRC)/EmbeddedNode.java
	@test -x $(JAVA25_HOME)/bin/javac || { echo "Elasticsearch 9 for the tests needs a JDK 21 or later, and no javac is at $(JAVA25_HOME)/bin/javac." >&2; \
		echo "The machine image ships Temurin 25 in /usr/lib/jvm/temurin-25-jdk-amd64 (Debian 12 has no JDK newer than 17); run make with JAVA25_HOME=<a JDK 21+>." >&2; exit 1; }
	@command -v mvn >/dev/null && command -v java >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends maven openjdk-17-jre-headless; }
	rm -rf $(BIN)/elasticsearch $(BIN)/elasticsearch.tmp
	mvn -q -B -Dstyle.color=never -f $(ES_SRC)/pom.xml dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory=$(BIN)/elasticsearch.tmp/lib
	mkdir -p $(BIN)/elasticsearch.tmp/modules/transport-netty4
	mv $(BIN)/elasticsearch.tmp/lib/transport-netty4-*.jar $(BIN)/elasticsearch.tmp/lib/netty-*.jar $(BIN)/elasticsearch.tmp/modules/transport-netty4/
	cd $(BIN)/elasticsearch.tmp/modules/transport-netty4 && $(JAVA25_HOME)/bin/jar xf transport-netty4-*.jar META-INF/es-plugins/transport-netty4/plugin-descriptor.properties && \
		mv META-INF/es-plugins/transport-netty4/plugin-descriptor.properties . && rm -r META-INF
	$(JAVA25_HOME)/bin/javac -d $(BIN)/elasticsearch.tmp/classes --module-path $(BIN)/elasticsearch.tmp/lib --add-modules ALL-MODULE-PATH $(ES_SRC)/EmbeddedNode.java
	echo $(JAVA25_HOME) > $(BIN)/elasticsearch.tmp/JAVA_HOME
	@cd $(BIN)/elasticsearch.tmp && echo "bin/elasticsearch: $$(ls lib/*.jar modules/*/*.jar | wc -l) jars, $$(du -cb lib/*.jar modules/*/*.jar | tail -1 | cut -f1) bytes"
	touch $(BIN)/elasticsearch.tmp/.installed
	mv $(BIN)/elasticsearch.tmp $(BIN)/elasticsearch
chromium:
	@command -v chromium >/dev/null || command -v chromium-browser >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core fonts-liberation; }
# DuckDB (its engine ships in the npm package) for the SQL check over S3 objects.
test/e2e/duckdb/node_modules: test/e2e/duckdb/package-lock.json
	cd test/e2e/duckdb && npm install --no-audit --no-fund --no-save
# Microsoft's Kusto language service (npm) for the KQL check of test/siem,
# and Grafana's dashboard schema with the TypeScript compiler for its
# dashboard check.
test/siem/kusto/node_modules: test/siem/kusto/package-lock.json
	cd test/siem/kusto && npm install --no-audit --no-fund --no-save
test/siem/grafana/node_modules: test/siem/grafana/package-lock.json
	cd test/siem/grafana && npm install --no-audit --no-fund --no-save

## screenshots: the console's browser test (test/e2e/console_test.go), which
## saves its screenshots in bin/screenshots; the timeline's goes to
## docs/images, where the README shows it.
screenshots: build tools
	POLICYAUDIT_BIN=$(COLLECTOR) $(GO) test -count=1 -v -run '^TestConsoleInABrowser$$' ./test/e2e/
	mkdir -p docs/images && cp bin/screenshots/console-timeline.png docs/images/console-timeline.png

## demo: post a realistic hour of gateway traffic (crossing midnight, the
## prompt-injection policy tightened at its middle) with the simulator to
## the collector of `make run`, or, when none answers, to one it starts on
## the default config and keeps serving until Ctrl-C; then prints the
## console's URL. The output stays in ./data.
DEMO_QUERY := http://127.0.0.1:4321
demo: build
	@mkdir -p data; pid=; \
	if ! curl -sf -o /dev/null http://127.0.0.1:13133/; then \
		$(COLLECTOR) --config config/default.yaml > data/demo.log 2>&1 & pid=$$!; \
		trap "kill $$pid 2>/dev/null" EXIT; \
		for i in $$(seq 1 100); do curl -sf -o /dev/null http://127.0.0.1:13133/ && break; sleep 0.1; done; \
	fi; \
	$(GO) run ./cmd/gatewaysim -url http://127.0.0.1:4320 -records 36000 -span 1h -edit 30m -rate 4000 || exit 1; \
	sleep 2; echo "decisions by verdict in the audit store:"; curl -s '$(DEMO_QUERY)/api/v1/stats'; echo; \
	echo "JSON lines by date partition:"; for d in data/export/*/; do echo "  $$d $$(cat $$d*.jsonl | wc -l)"; done; \
	echo; echo "The console: $(DEMO_QUERY)/  (the timeline of prompt-injection: $(DEMO_QUERY)/?policy_id=prompt-injection)"; \
	echo "The decision metrics, for Prometheus (deploy/prometheus): http://127.0.0.1:9464/metrics (sent every 10 s)"; \
	if [ -n "$$pid" ]; then echo "The collector started for the demo serves it until Ctrl-C (its log: data/demo.log)."; wait $$pid; fi

## image: the OCI images, built offline with buildah from the Containerfile:
## the distribution (static, CGO_ENABLED=0, the tz database inside) and the
## gateway simulator (the gateway stand-in of deploy/kubernetes/sidecar).
## The same commit gives the same image digests (--timestamp 0). Prints
## each image's size and digest.
IMAGE_VERSION := $(shell awk '$$1 == "version:" {print $$2; exit}' builder-config.yaml)
IMAGE     ?= localhost/policyaudit/otelcol-policyaudit:$(IMAGE_VERSION)
SIM_IMAGE ?= localhost/policyaudit/gatewaysim:$(IMAGE_VERSION)
REVISION  := $(shell git rev-parse HEAD 2>/dev/null || echo unknown)
CONTAINERS_CONF := $(CURDIR)/deploy/containers.conf
export CONTAINERS_CONF
BUILDAH := buildah build --quiet --timestamp 0 --layers=false --build-arg VERSION=$(IMAGE_VERSION) --build-arg REVISION=$(REVISION)
STATIC := CGO_ENABLED=0 $(GO) build -trimpath -buildvcs=false -tags timetzdata -ldflags "-s -w"
image: container-tools
	rm -rf $(BIN)/image $(BIN)/sim-image
	mkdir -p $(BIN)/image/config/examples $(BIN)/image/data $(BIN)/sim-image
	cd $(DIST_DIR) && $(STATIC) -o $(BIN)/image/otelcol-policyaudit .
	$(STATIC) -o $(BIN)/sim-image/gatewaysim ./cmd/gatewaysim
	cp /etc/ssl/certs/ca-certificates.crt $(BIN)/image/
	cp config/default.yaml $(BIN)/image/config/config.yaml
	cp config/examples/*.yaml $(BIN)/image/config/examples/
	touch -d @0 $$(find $(BIN)/image $(BIN)/sim-image)
	$(BUILDAH) -f Containerfile -t $(IMAGE) $(BIN)/image
	$(BUILDAH) -f cmd/gatewaysim/Containerfile -t $(SIM_IMAGE) $(BIN)/sim-image
	@# Built a second time from the same context, it must be the same image.
	$(BUILDAH) -f Containerfile -t $(IMAGE)-rebuilt $(BIN)/image
	@a=$$(podman image inspect --format '{{.Digest}}' $(IMAGE)); b=$$(podman image inspect --format '{{.Digest}}' $(IMAGE)-rebuilt); \
		podman rmi $(IMAGE)-rebuilt >/dev/null; \
		if [ "$$a" != "$$b" ]; then echo "make image: two builds gave $$a and $$b"; exit 1; fi
	@for i in $(IMAGE) $(SIM_IMAGE); do podman image inspect --format "$$i: {{.Size}} bytes, {{.Digest}}" $$i; done

## container-tools: buildah, podman, runc and catatonit (podman's pause
## process) from Debian (needs root), for make image and test-deploy.
container-tools:
	@command -v buildah >/dev/null && command -v podman >/dev/null && command -v runc >/dev/null && command -v catatonit >/dev/null || \
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends buildah podman runc catatonit; }

## bench: this distribution (A) against the stock contrib collector with
## OTTL (B) and plain encoding/json (C), each collector pinned to CPU 0, the
## load on CPU 1 (needs 2 cores); then D, the shipped sidecar, flat out and
## at 5,000 records/s, and D′, the stock collector as the same sidecar,
## against the reliability tests' peers on both cores; writes bench/results/
## (results.md, load.png, go-bench.txt, sidecar.txt, *.pprof). Prints
## figures next to the targets; asserts nothing.
STOCK := $(BIN)/otelcol-stock
bench: build tools
	cd bench/stock && $(GO) build -trimpath -o $(STOCK) .
	$(GO) test -run '^$$' -bench . -benchmem -benchtime 2s ./internal/jsonbody ./internal/record \
		./processor/policydecisionprocessor ./receiver/policygatewayreceiver | tee bench/results/go-bench.txt
	POLICYAUDIT_BIN=$(COLLECTOR) STOCK_BIN=$(STOCK) VERSITYGW_BIN=$(VERSITYGW) SIDECAR_BENCH_PROFILE=$(CURDIR)/bench/results/sidecar.pprof \
		$(GO) test -run '^$$' -bench Sidecar -benchtime 1x -timeout 30m ./test/sidecarbench > bench/results/sidecar.txt 2>&1; \
		status=$$?; cat bench/results/sidecar.txt; exit $$status
	cd bench && $(GO) build -o $(BIN)/bench . && taskset -c 1 $(BIN)/bench -root .. -cpu 0 -out results -sidecar results/sidecar.txt

## bench-fleet: issue 28's figures on this machine (three Kafka brokers,
## PostgreSQL and the peers sharing its cores): a sidecar acknowledging into
## Kafka, then one and two tier collectors draining 100,000 records into the
## shared store and S3 (test/fleetbench); writes bench/results/fleet.txt.
bench-fleet: build tools
	POLICYAUDIT_BIN=$(COLLECTOR) VERSITYGW_BIN=$(VERSITYGW) \
		$(GO) test -run '^$$' -bench Fleet -benchtime 1x -timeout 30m ./test/fleetbench > bench/results/fleet.txt 2>&1; \
		status=$$?; cat bench/results/fleet.txt; exit $$status

## bench-generate: regenerate the stock collector's sources (ocb) for B.
bench-generate:
	$(GO) tool builder --config bench/stock/builder-config.yaml --skip-compilation
	gofmt -w bench/stock/*.go

## bench-auditstore: the audit store's figures (records/s stored on one core,
## query latency at 1 million rows; appends to a shared PostgreSQL store by
## one to four writers, into bench/results/auditstore-postgres.txt); prints
## them, asserts nothing.
bench-auditstore:
	$(GO) test -run '^$$' -bench 'BenchmarkAppend$$' -benchtime 20x ./internal/auditstore/
	$(GO) test -run '^$$' -bench 'BenchmarkAppendPostgres' -benchtime 20x ./internal/auditstore/ | tee bench/results/auditstore-postgres.txt
	$(GO) test -run '^$$' -bench 'BenchmarkQueryAt1M' -benchtime 2000x -timeout 30m ./internal/auditstore/
	$(GO) test -run '^$$' -bench 'BenchmarkTimelineAt1M/(all_policies|one_policy)' -benchtime 50x -timeout 30m ./internal/auditstore/
	$(GO) test -run '^$$' -bench 'BenchmarkTimelineAt1M/verify' -benchtime 1x -timeout 30m ./internal/auditstore/
	$(GO) test -run '^$$' -bench 'BenchmarkIndexMigrationAt1M' -benchtime 1x -timeout 30m ./internal/auditstore/

# The distribution's own sources are ocb's; vetting them would compile every
# dependency a second time (vet does not share -trimpath's build cache).
vet:
	$(GO) vet ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

clean:
	rm -rf $(BIN) data
