{{/*
Named templates shared by the umbrella chart and its subcharts (named templates are global to a
chart and its subcharts). They read only .Release, .Chart and .Values.global, so a subchart
computes the same broker, names and labels as every other component.
*/}}

{{/* A component's object name: <release>-<component>, at most 63 characters. */}}
{{- define "egressd.fullname" -}}
{{- $ctx := index . 0 -}}{{- $component := index . 1 -}}
{{- printf "%s-%s" $ctx.Release.Name $component | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "egressd.selectorLabels" -}}
{{- $ctx := index . 0 -}}{{- $component := index . 1 -}}
app.kubernetes.io/name: egressd
app.kubernetes.io/instance: {{ $ctx.Release.Name }}
app.kubernetes.io/component: {{ $component }}
{{- end -}}

{{- define "egressd.labels" -}}
{{- $ctx := index . 0 -}}
{{ include "egressd.podLabels" . }}
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
A pod template's labels: no chart version, so a chart upgrade that changes nothing in a pod
restarts none (the single-node broker above all).
*/}}
{{- define "egressd.podLabels" -}}
{{- $ctx := index . 0 -}}
{{ include "egressd.selectorLabels" . }}
app.kubernetes.io/part-of: egressd
{{- with $ctx.Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* An image that is not egressd's (broker, test, credentials Job, demo): [global.image.registry/]repository:tag. */}}
{{- define "egressd.otherImage" -}}
{{- $ctx := index . 0 -}}{{- $image := index . 1 -}}
{{- with $ctx.Values.global.image.registry -}}{{ trimSuffix "/" . }}/{{- end -}}
{{- printf "%s:%s" $image.repository $image.tag -}}
{{- end -}}

{{/* An egressd image: [registry/]repository:tag, the tag from the component, global, or appVersion. */}}
{{- define "egressd.image" -}}
{{- $ctx := . -}}
{{- $tag := $ctx.Values.image.tag | default $ctx.Values.global.image.tag | default $ctx.Chart.AppVersion -}}
{{- if $ctx.Values.global.image.registry -}}
{{- printf "%s/%s:%s" (trimSuffix "/" $ctx.Values.global.image.registry) $ctx.Values.image.repository $tag -}}
{{- else -}}
{{- printf "%s:%s" $ctx.Values.image.repository $tag -}}
{{- end -}}
{{- end -}}

{{- define "egressd.imagePullSecrets" -}}
{{- with .Values.global.image.pullSecrets }}
imagePullSecrets:
{{- range . }}
  - name: {{ . }}
{{- end }}
{{- end }}
{{- end -}}

{{/* ---------- The broker: one definition, read by every component ---------- */}}

{{- define "egressd.broker.mode" -}}
{{- $mode := .Values.global.broker.mode -}}
{{- if not (has $mode (list "bundled" "operator" "external")) -}}
{{- fail (printf "global.broker.mode must be bundled, operator or external (got %q)" $mode) -}}
{{- end -}}
{{- $mode -}}
{{- end -}}

{{- define "egressd.broker.host" -}}
{{- $mode := include "egressd.broker.mode" . -}}
{{- if eq $mode "external" -}}
{{- required "global.broker.external.host is required with global.broker.mode=external" .Values.global.broker.external.host -}}
{{- else -}}
{{- printf "%s.%s.svc" (include "egressd.fullname" (list . "rabbitmq")) .Release.Namespace -}}
{{- end -}}
{{- end -}}

{{/* A cluster's nodes, as a JSON list: external.hosts, or the RabbitmqCluster's pods in operator
mode (the operator's headless Service names each); an empty list for one broker (egressd.broker.host). */}}
{{- define "egressd.broker.hosts" -}}
{{- $mode := include "egressd.broker.mode" . -}}
{{- $ext := .Values.global.broker.external -}}
{{- if and (eq $mode "external") $ext.hosts -}}
{{- if $ext.host -}}{{- fail "global.broker.external: set host or hosts, not both" -}}{{- end -}}
{{- toJson $ext.hosts -}}
{{- else if and (eq $mode "operator") (gt (int .Values.global.broker.replicas) 1) -}}
{{- $name := include "egressd.fullname" (list . "rabbitmq") -}}
{{- $hosts := list -}}
{{- range $i := until (int .Values.global.broker.replicas) -}}
{{- $hosts = append $hosts (printf "%s-server-%d.%s-nodes.%s.svc" $name $i $name $.Release.Namespace) -}}
{{- end -}}
{{- toJson $hosts -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{- define "egressd.broker.port" -}}
{{- if eq (include "egressd.broker.mode" .) "external" -}}{{ .Values.global.broker.external.port }}{{- else -}}5672{{- end -}}
{{- end -}}

{{/* The Secret holding the broker password, and its key. */}}
{{- define "egressd.broker.secretName" -}}
{{- $mode := include "egressd.broker.mode" . -}}
{{- if eq $mode "bundled" -}}{{ .Values.global.broker.bundled.existingSecret | default (include "egressd.fullname" (list . "rabbitmq")) }}
{{- else if eq $mode "operator" -}}{{ include "egressd.fullname" (list . "rabbitmq") }}-default-user
{{- else if .Values.global.broker.external.existingSecret -}}{{ .Values.global.broker.external.existingSecret }}
{{- else -}}{{ include "egressd.fullname" (list . "broker") }}
{{- end -}}
{{- end -}}

{{- define "egressd.broker.passwordKey" -}}
{{- if and (eq (include "egressd.broker.mode" .) "external") .Values.global.broker.external.existingSecret -}}{{ .Values.global.broker.external.passwordKey }}{{- else -}}password{{- end -}}
{{- end -}}

{{/* Environment every component needs to reach the broker. */}}
{{- define "egressd.broker.env" -}}
{{- $mode := include "egressd.broker.mode" . -}}
{{- $b := .Values.global.broker -}}
- name: Egressd__Bus__Transport
  value: rabbitmq
{{- $hosts := include "egressd.broker.hosts" . | fromJsonArray }}
{{- if $hosts }}
{{- /* A cluster: every node, so each process can fail over to the next (docs/RELIABILITY.md). */}}
{{- range $i, $h := $hosts }}
- name: Egressd__Bus__RabbitMq__Hosts__{{ $i }}
  value: {{ $h | quote }}
{{- end }}
{{- if and $b.tls.enabled (not $b.tls.serverName) }}
{{- fail "global.broker.tls.serverName is required with several broker hosts: every node's certificate is checked against that one name" }}
{{- end }}
{{- else }}
- name: Egressd__Bus__RabbitMq__Host
  value: {{ include "egressd.broker.host" . | quote }}
{{- end }}
- name: Egressd__Bus__RabbitMq__Port
  value: {{ include "egressd.broker.port" . | quote }}
- name: Egressd__Bus__RabbitMq__VirtualHost
  value: {{ $b.virtualHost | quote }}
{{- if eq $mode "external" }}
{{- if $b.external.usernameKey }}
- name: Egressd__Bus__RabbitMq__Username
  valueFrom:
    secretKeyRef:
      name: {{ include "egressd.broker.secretName" . }}
      key: {{ $b.external.usernameKey }}
{{- else }}
- name: Egressd__Bus__RabbitMq__Username
  value: {{ required "global.broker.external.username (or usernameKey) is required with global.broker.mode=external" $b.external.username | quote }}
{{- end }}
{{- else }}
- name: Egressd__Bus__RabbitMq__Username
  valueFrom:
    secretKeyRef:
      name: {{ include "egressd.broker.secretName" . }}
      key: username
{{- end }}
- name: Egressd__Bus__RabbitMq__PasswordFile
  value: /etc/egressd/broker/password
- name: Egressd__Bus__MaxMessageBytes
  value: {{ .Values.global.broker.maxMessageBytes | default 16777216 | int64 | quote }}
{{- if $b.tls.enabled }}
- name: Egressd__Bus__RabbitMq__UseTls
  value: "true"
{{- with $b.tls.serverName }}
- name: Egressd__Bus__RabbitMq__TlsServerName
  value: {{ . | quote }}
{{- end }}
{{- if $b.tls.caSecret }}
- name: Egressd__Bus__RabbitMq__TlsCaFile
  value: /etc/egressd/broker-ca/ca.pem
{{- end }}
{{- end }}
{{- end -}}

{{- define "egressd.broker.volumeMounts" -}}
- name: broker-credentials
  mountPath: /etc/egressd/broker
  readOnly: true
{{- if and .Values.global.broker.tls.enabled .Values.global.broker.tls.caSecret }}
- name: broker-ca
  mountPath: /etc/egressd/broker-ca
  readOnly: true
{{- end }}
{{- end -}}

{{- define "egressd.broker.volumes" -}}
- name: broker-credentials
  secret:
    secretName: {{ include "egressd.broker.secretName" . }}
    defaultMode: 0440
    items:
      - key: {{ include "egressd.broker.passwordKey" . }}
        path: password
{{- if and .Values.global.broker.tls.enabled .Values.global.broker.tls.caSecret }}
- name: broker-ca
  secret:
    secretName: {{ .Values.global.broker.tls.caSecret }}
    defaultMode: 0444
    items:
      - key: {{ .Values.global.broker.tls.caKey }}
        path: ca.pem
{{- end }}
{{- end -}}

{{/* Pod-side label selector of the broker's pods (bundled or operator). */}}
{{- define "egressd.broker.podLabels" -}}
{{- if eq (include "egressd.broker.mode" .) "operator" -}}
app.kubernetes.io/name: {{ include "egressd.fullname" (list . "rabbitmq") }}
{{- else -}}
{{ include "egressd.selectorLabels" (list . "rabbitmq") }}
{{- end -}}
{{- end -}}

{{/* ---------- Settings ---------- */}}

{{/*
A container's environment: the chart's variables (the YAML list passed in), then the component's
`settings:` map (Egressd:A:B: value, as Egressd__A__B), then extraEnv. A later one replaces an
earlier one of the same name (compared as .NET configuration does, ignoring case), so every name
appears once: server-side apply refuses a container with two.
*/}}
{{- define "egressd.containerEnv" -}}
{{- $ctx := index . 0 -}}
{{- $entries := list -}}
{{- range fromYamlArray (index . 1) }}{{ $entries = append $entries . }}{{ end -}}
{{- range $key, $value := $ctx.Values.settings }}
{{- if not (hasPrefix "Egressd:" $key) }}
{{- fail (printf "settings keys are egressd setting names such as Egressd:Collector:MaxFlowsPerPart (got %q)" $key) }}
{{- end }}
{{- $entries = append $entries (dict "name" (replace ":" "__" $key) "value" (toString $value)) }}
{{- end }}
{{- $extra := $ctx.Values.extraEnv | default list -}}
{{- $seen := dict -}}
{{- range $extra }}
{{- if hasKey $seen (lower .name) }}{{ fail (printf "extraEnv names %s twice" .name) }}{{ end }}
{{- $_ := set $seen (lower .name) true }}
{{- end }}
{{- $entries = concat $entries $extra -}}
{{- $last := dict -}}
{{- range $i, $e := $entries }}{{ $_ := set $last (lower $e.name) $i }}{{ end -}}
{{- $out := list -}}
{{- range $i, $e := $entries }}{{ if eq (index $last (lower $e.name)) $i }}{{ $out = append $out $e }}{{ end }}{{ end -}}
{{ toYaml $out }}
{{- end -}}

{{- define "egressd.commonEnv" -}}
- name: DOTNET_gcServer
  value: "0"
{{- end -}}

{{/* The components that read the cluster (collector, enricher): where from. */}}
{{- define "egressd.clusterContextEnv" -}}
- name: Egressd__ClusterContext__Source
  value: {{ .Values.global.clusterContext | quote }}
{{- end -}}

{{/* ---------- Monitoring ---------- */}}

{{/* "true" when a Prometheus Operator object is to be rendered: list ctx setting kind (auto asks the cluster for the CRD). */}}
{{- define "egressd.monitoring.enabled" -}}
{{- $ctx := index . 0 -}}{{- $setting := index . 1 -}}{{- $kind := index . 2 -}}
{{- if eq (toString $setting) "auto" -}}
{{- if $ctx.Capabilities.APIVersions.Has (printf "monitoring.coreos.com/v1/%s" $kind) }}true{{ end -}}
{{- else if eq (toString $setting) "true" -}}true
{{- end -}}
{{- end -}}

{{/* A pod template's annotations: scraping by annotation (never on a Service too), a checksum, the user's. list ctx port extra-dict */}}
{{- define "egressd.podAnnotations" -}}
{{- $ctx := index . 0 -}}{{- $port := index . 1 -}}
{{- $annotations := dict -}}
{{- if $ctx.Values.global.monitoring.scrapeAnnotations }}
{{- $annotations = dict "prometheus.io/scrape" "true" "prometheus.io/port" (toString $port) "prometheus.io/path" "/metrics" -}}
{{- end }}
{{- if gt (len .) 2 }}{{ $annotations = merge (index . 2) $annotations }}{{ end -}}
{{- $annotations = merge (deepCopy ($ctx.Values.podAnnotations | default dict)) $annotations -}}
{{- with $annotations }}
annotations:
  {{- toYaml . | nindent 2 }}
{{- end }}
{{- end -}}

{{/* ---------- Security ---------- */}}

{{/* Pod Security Standards "restricted": non-root, no escalation, every capability dropped, RuntimeDefault seccomp. */}}
{{- define "egressd.restrictedPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001
runAsGroup: 10001
fsGroup: 10001
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "egressd.restrictedContainerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: {{ .Values.global.readOnlyRootFilesystem }}
runAsNonRoot: true
capabilities:
  drop: [ALL]
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "egressd.probes" -}}
{{- $port := . -}}
startupProbe:
  httpGet: {path: /healthz, port: {{ $port }}}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: {{ $port }}}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
readinessProbe:
  httpGet: {path: /readyz, port: {{ $port }}}
  periodSeconds: 5
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* ---------- NetworkPolicy pieces ---------- */}}

{{- define "egressd.networkPolicy.egressDnsAndBroker" -}}
# DNS, to resolve the broker's name.
- ports:
    - {protocol: UDP, port: 53}
    - {protocol: TCP, port: 53}
{{- if eq (include "egressd.broker.mode" .) "external" }}
- ports:
    - {protocol: TCP, port: {{ include "egressd.broker.port" . }}}
{{- else }}
- to:
    - podSelector:
        matchLabels:
          {{- include "egressd.broker.podLabels" . | nindent 10 }}
  ports:
    - {protocol: TCP, port: 5672}
{{- end }}
{{- end -}}

{{- define "egressd.networkPolicy.metricsIngress" -}}
{{- $port := index . 1 -}}{{- $ctx := index . 0 -}}
- ports:
    - {protocol: TCP, port: {{ $port }}}
  {{- with $ctx.Values.global.networkPolicy.metricsFrom }}
  from:
    {{- toYaml . | nindent 4 }}
    # The chart's own `helm test` Job.
    - podSelector:
        matchLabels:
          {{- include "egressd.selectorLabels" (list $ctx "test") | nindent 10 }}
  {{- else }}
  from:
    - namespaceSelector: {}
  {{- end }}
{{- end -}}

{{/*
egressd's alert rules (the PrometheusRule's spec): each alert's runbook is in helm/README.md,
"Alerts". A test renders them, runs promtool check rules, and fires each on series recorded
from the real services.
*/}}
{{- define "egressd.alertRules" -}}
{{- $m := .Values.global.monitoring -}}
{{- $c := printf "job=%q" (include "egressd.fullname" (list . "collector")) -}}
{{- $x := printf "job=%q" (include "egressd.fullname" (list . "exporter")) -}}
{{- $all := printf "job=~%q" (printf "%s-(collector|enricher|exporter)" .Release.Name) -}}
{{- $labels := merge (dict "release" .Release.Name) $m.alerts.labels -}}
groups:
  - name: egressd
    rules:
      - alert: EgressdPipelineStalled
        # Work to do (collectors publishing windows, or holding flows they could not publish) and
        # none applied, or a sink applying its windows late (its p99 lag over the same range above
        # lagAboveSeconds: a backlog drained slower than it grows); an idle cluster, whose
        # collectors have nothing to publish, is not stalled. A range with no batch applied makes
        # the quantile NaN, which compares false: that case is the first condition's.
        expr: |-
          (
            (sum(increase(egressd_exporter_batches_applied_total{ {{- $x -}} }[{{ $m.alerts.stalledFor }}])) or vector(0)) == 0
            or on ()
            max(histogram_quantile(0.99, sum by (sink, le) (rate(egressd_exporter_sink_lag_seconds_bucket{ {{- $x -}} }[{{ $m.alerts.stalledFor }}])))) > {{ $m.alerts.lagAboveSeconds }}
          )
          and on ()
          ((sum(egressd_collector_pending_keys{ {{- $c -}} }) > 0) or (sum(increase(egressd_collector_windows_published_total{ {{- $c -}} }[{{ $m.alerts.stalledFor }}])) > 0))
        for: 5m
        labels: {{- toYaml (merge (dict "severity" "critical") $labels) | nindent 10 }}
        annotations:
          summary: No exporter applied a window for {{ $m.alerts.stalledFor }}, or a sink applies them over {{ $m.alerts.lagAboveSeconds }}s late.
          runbook: helm/README.md#egressdpipelinestalled
      - alert: EgressdMessagesParked
        # A queue's first parked message creates its series: increase() cannot see that one, so a
        # series that was not there 15m ago counts too.
        expr: |-
          sum by (job, queue, reason) (
            (increase(egressd_bus_messages_faulted_total{ {{- $all -}} }[15m]) > 0)
            or (egressd_bus_messages_faulted_total{ {{- $all -}} } unless egressd_bus_messages_faulted_total{ {{- $all -}} } offset 15m)
          ) > 0
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: "{{`{{ $labels.job }}`}} parked messages in {{`{{ $labels.queue }}`}} ({{`{{ $labels.reason }}`}})."
          runbook: helm/README.md#egressdmessagesparked
      - alert: EgressdCollectorReadFailures
        expr: sum by (job, instance, node) (increase(egressd_collector_read_failures_total{ {{- $c -}} }[10m])) > 0
        for: 5m
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: "The collector on {{`{{ $labels.node }}`}} fails to read connection tracking."
          runbook: helm/README.md#egressdcollectorreadfailures
      - alert: EgressdCollectorPublishFailures
        expr: sum by (job, instance, node) (increase(egressd_collector_publish_failures_total{ {{- $c -}} }[5m])) > 0
        for: 2m
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: "The collector on {{`{{ $labels.node }}`}} fails to publish windows to the broker."
          runbook: helm/README.md#egressdcollectorpublishfailures
      - alert: EgressdSeriesCapReached
        expr: sum by (job, instance) (increase(egressd_exporter_series_refused_total{ {{- $x -}} }[10m])) > 0
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: The exporter refuses flows at exporter.prometheus.maxSeries; they are not counted.
          runbook: helm/README.md#egressdseriescapreached
      {{- if .Values.collector.dns.enabled }}
      - alert: EgressdDnsCaptureDown
        expr: max by (job, instance, node) (egressd_dns_capture_up{ {{- $c -}} }) == 0
        for: 10m
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: "The collector on {{`{{ $labels.node }}`}} captures no DNS answers: internet destinations go unnamed."
          runbook: helm/README.md#egressddnscapturedown
      {{- end }}
      - alert: EgressdBrokerUnreachable
        expr: |-
          {{- if ne (include "egressd.broker.mode" .) "external" }}
          (up{job={{ include "egressd.fullname" (list . "broker") | quote }}} == 0)
          or
          {{- end }}
          (sum(increase(egressd_collector_publish_failures_total{ {{- $c -}} }[5m])) > 0
            and sum(increase(egressd_collector_windows_published_total{ {{- $c -}} }[5m])) == 0)
        for: 2m
        labels: {{- toYaml (merge (dict "severity" "critical") $labels) | nindent 10 }}
        annotations:
          summary: No collector can publish to the broker.
          runbook: helm/README.md#egressdbrokerunreachable
      - alert: EgressdCollectorMissing
        expr: |-
          (up{ {{- $c -}} } == 0)
          or
          (kube_daemonset_status_desired_number_scheduled{daemonset={{ include "egressd.fullname" (list . "collector") | quote }}, namespace={{ .Release.Namespace | quote }}}
            - kube_daemonset_status_number_available{daemonset={{ include "egressd.fullname" (list . "collector") | quote }}, namespace={{ .Release.Namespace | quote }}} > 0)
        for: {{ $m.alerts.collectorMissingFor }}
        labels: {{- toYaml (merge (dict "severity" "warning") $labels) | nindent 10 }}
        annotations:
          summary: A node has no running collector; its traffic is not counted.
          runbook: helm/README.md#egressdcollectormissing
{{- end -}}
