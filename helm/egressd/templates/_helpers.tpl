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
{{ include "egressd.selectorLabels" . }}
app.kubernetes.io/part-of: egressd
app.kubernetes.io/version: {{ $ctx.Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ $ctx.Release.Service }}
helm.sh/chart: {{ printf "%s-%s" $ctx.Chart.Name $ctx.Chart.Version | replace "+" "_" }}
{{- with $ctx.Values.global.commonLabels }}
{{ toYaml . }}
{{- end }}
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

{{- define "egressd.broker.port" -}}
{{- if eq (include "egressd.broker.mode" .) "external" -}}{{ .Values.global.broker.external.port }}{{- else -}}5672{{- end -}}
{{- end -}}

{{/* The Secret holding the broker password, and its key. */}}
{{- define "egressd.broker.secretName" -}}
{{- $mode := include "egressd.broker.mode" . -}}
{{- if eq $mode "bundled" -}}{{ include "egressd.fullname" (list . "rabbitmq") }}
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
- name: Egressd__Bus__RabbitMq__Host
  value: {{ include "egressd.broker.host" . | quote }}
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

{{/* A component's `settings:` map (Egressd:A:B: value) as environment variables (Egressd__A__B). */}}
{{- define "egressd.settingsEnv" -}}
{{- range $key, $value := .Values.settings }}
{{- if not (hasPrefix "Egressd:" $key) }}
{{- fail (printf "settings keys are egressd setting names such as Egressd:Collector:ReadInterval (got %q)" $key) }}
{{- end }}
- name: {{ replace ":" "__" $key }}
  value: {{ $value | toString | quote }}
{{- end }}
{{- with .Values.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{- define "egressd.commonEnv" -}}
- name: Egressd__ClusterContext__Source
  value: {{ .Values.global.clusterContext | quote }}
- name: DOTNET_gcServer
  value: "0"
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
readOnlyRootFilesystem: true
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
  {{- else }}
  from:
    - namespaceSelector: {}
  {{- end }}
{{- end -}}
