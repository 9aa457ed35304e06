{{/* Names and labels. */}}
{{- define "switchboard.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "switchboard.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* Service names: the suffixes must fit in 63 characters too. */}}
{{- define "switchboard.serviceName" -}}
{{- $ctx := index . 0 -}}{{- $suffix := index . 1 -}}
{{- if $suffix -}}
{{- printf "%s-%s" (include "switchboard.fullname" $ctx | trunc (int (sub 62 (len $suffix))) | trimSuffix "-") $suffix -}}
{{- else -}}
{{- include "switchboard.fullname" $ctx -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.headlessName" -}}
{{- include "switchboard.serviceName" (list . "headless") -}}
{{- end -}}

{{- define "switchboard.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "switchboard.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end -}}

{{- define "switchboard.selectorLabels" -}}
app.kubernetes.io/name: {{ include "switchboard.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "switchboard.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "switchboard.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- default "default" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) -}}
{{- end -}}

{{/* The Secret with nonce-secret, replica-token (and switchboard-secret.yaml, redis-url): the chart's or yours. */}}
{{- define "switchboard.secretName" -}}
{{- if .Values.existingSecret -}}
{{- .Values.existingSecret -}}
{{- else -}}
{{- include "switchboard.fullname" . -}}
{{- end -}}
{{- end -}}

{{/* Where the Redis URL comes from: your Secret, or the chart's. */}}
{{- define "switchboard.redisSecretName" -}}
{{- if .Values.store.redis.existingSecret -}}
{{- .Values.store.redis.existingSecret -}}
{{- else -}}
{{- include "switchboard.fullname" . -}}
{{- end -}}
{{- end -}}

{{- define "switchboard.redisSecretKey" -}}
{{- if .Values.store.redis.existingSecret -}}
{{- .Values.store.redis.existingSecretKey -}}
{{- else -}}
redis-url
{{- end -}}
{{- end -}}

{{/* The probe handler in use: grpc, http or tcp (probes.type auto resolved). */}}
{{- define "switchboard.probeType" -}}
{{- $t := .Values.probes.type -}}
{{- if eq $t "auto" -}}
{{- if .Values.metrics.enabled -}}http{{- else if .Values.grpc.tls.enabled -}}tcp{{- else -}}grpc{{- end -}}
{{- else -}}
{{- $t -}}
{{- end -}}
{{- end -}}

{{/* The lowest port the server binds: NET_BIND_SERVICE below 1024. */}}
{{- define "switchboard.lowestPort" -}}
{{- $ports := list (int .Values.sip.port) (int .Values.grpc.port) -}}
{{- if .Values.metrics.enabled -}}{{- $ports = append $ports (int .Values.metrics.port) -}}{{- end -}}
{{- $min := 65536 -}}
{{- range $ports -}}{{- if lt . $min -}}{{- $min = . -}}{{- end -}}{{- end -}}
{{- $min -}}
{{- end -}}

{{/*
The server's configuration file, without secrets: values.config plus what the chart decides
(listen addresses, data_dir, gRPC TLS files, the SQLite store, metrics). Secrets (nonce secret,
API token hashes, realms with their users, the Redis URL) are added in the pod by the
"config" init container from the Secret.
*/}}
{{- define "switchboard.configYaml" -}}
{{- $c := deepCopy .Values.config -}}
{{- range $k, $v := deepCopy $c -}}{{- if kindIs "invalid" $v -}}{{- $_ := unset $c $k -}}{{- end -}}{{- end -}}
{{- $sip := deepCopy (default dict $c.sip) -}}
{{- $listen := list -}}
{{- range .Values.sip.transports -}}
{{- $listen = append $listen (printf "%s:%s:%d" . $.Values.sip.bindAddress (int $.Values.sip.port)) -}}
{{- end -}}
{{- $_ := set $sip "listen" $listen -}}
{{- $_ := set $c "sip" $sip -}}
{{- $_ := set $c "data_dir" "/data" -}}
{{- $grpc := dict "listen" (printf "%s:%d" .Values.grpc.bindAddress (int .Values.grpc.port)) -}}
{{- if .Values.grpc.tls.enabled -}}
{{- $tls := dict "cert_file" "/etc/switchboard-tls/tls.crt" "key_file" "/etc/switchboard-tls/tls.key" -}}
{{- if .Values.grpc.tls.clientAuth -}}{{- $_ := set $tls "client_ca_file" "/etc/switchboard-tls/ca.crt" -}}{{- end -}}
{{- $_ := set $grpc "tls" $tls -}}
{{- end -}}
{{- $_ := set $c "grpc" $grpc -}}
{{- if eq .Values.store.kind "sqlite" -}}
{{- $_ := set $c "store" (dict "synchronous" .Values.store.sqlite.synchronous) -}}
{{- end -}}
{{- if .Values.metrics.enabled -}}
{{- $_ := set $c "metrics" (dict "listen" (printf "%s:%d" .Values.grpc.bindAddress (int .Values.metrics.port))) -}}
{{- end -}}
{{- $grace := sub (sub (int .Values.terminationGracePeriodSeconds) (int .Values.preStopSleepSeconds)) 5 -}}
{{- $_ := set $c "shutdown" (dict "grace_period" (max 0 $grace)) -}}
{{- /* toYaml writes whole numbers as integers (1000000, not 1e+06 as {{ }} would) */ -}}
{{- toYaml $c -}}
{{- end -}}

{{/* The secret part of the configuration: top-level api: and realms: (a YAML fragment). */}}
{{- define "switchboard.secretYaml" -}}
{{- $s := dict -}}
{{- if .Values.apiTokens -}}{{- $_ := set $s "api" (dict "tokens" (deepCopy .Values.apiTokens)) -}}{{- end -}}
{{- if .Values.realms -}}{{- $_ := set $s "realms" (deepCopy .Values.realms) -}}{{- end -}}
{{- if $s -}}{{- toYaml $s -}}{{- end -}}
{{- end -}}
