{{/*
Names, labels, images and URLs shared by every template. The DuetService the chart creates is
reconciled by the operator into objects named <service>-prefill, -decode, -router, -gateway,
-config, -metrics, -routing-policy (operator/src/controller/names.ts); the chart's own objects use
the suffixes -operator, -nats, -redis, -dashboard, so the two never collide.
*/}}

{{- define "duet.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Release-scoped base name; capped at 40 characters so every suffix keeps names under 63. */}}
{{- define "duet.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 40 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 40 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "duet.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Selector labels of one chart component: call with (dict "ctx" $ "component" "operator"). */}}
{{- define "duet.selectorLabels" -}}
app.kubernetes.io/name: {{ include "duet.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end -}}

{{- define "duet.labels" -}}
{{ include "duet.selectorLabels" . }}
helm.sh/chart: {{ include "duet.chart" .ctx }}
app.kubernetes.io/part-of: duet
app.kubernetes.io/managed-by: {{ .ctx.Release.Service }}
app.kubernetes.io/version: {{ .ctx.Chart.AppVersion | quote }}
{{- with .ctx.Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The Duet image: <repository>:<tag or appVersion>-<flavor>, e.g. duet:0.1.0-cpu. */}}
{{- define "duet.image" -}}
{{- $tag := default .Chart.AppVersion .Values.image.tag -}}
{{- printf "%s:%s-%s" .Values.image.repository $tag .Values.image.flavor -}}
{{- end -}}

{{- define "duet.serviceAccountName" -}}
{{- if .Values.operator.serviceAccount.create -}}
{{- default (printf "%s-operator" (include "duet.fullname" .)) .Values.operator.serviceAccount.name -}}
{{- else -}}
{{- required "operator.serviceAccount.name is required when operator.serviceAccount.create is false" .Values.operator.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* NATS URL every component uses: the in-cluster StatefulSet's Service, or nats.externalUrl. */}}
{{- define "duet.natsUrl" -}}
{{- if .Values.nats.enabled -}}
{{- printf "nats://%s-nats.%s.svc:%d" (include "duet.fullname" .) .Release.Namespace (int .Values.nats.port) -}}
{{- else -}}
{{- required "nats.externalUrl is required when nats.enabled is false" .Values.nats.externalUrl -}}
{{- end -}}
{{- end -}}

{{/* Redis URL, or empty when neither the in-cluster Redis nor redis.externalUrl is set. */}}
{{- define "duet.redisUrl" -}}
{{- if .Values.redis.enabled -}}
{{- printf "redis://%s-redis.%s.svc:6379" (include "duet.fullname" .) .Release.Namespace -}}
{{- else if .Values.redis.externalUrl -}}
{{- .Values.redis.externalUrl -}}
{{- end -}}
{{- end -}}

{{- define "duet.duetServiceName" -}}
{{- default (include "duet.fullname" .) .Values.duetService.name -}}
{{- end -}}

{{/* Restricted pod security (Pod Security Standards "restricted"). */}}
{{- define "duet.podSecurityContext" -}}
runAsNonRoot: true
runAsUser: {{ .Values.podSecurity.runAsUser }}
runAsGroup: {{ .Values.podSecurity.runAsGroup }}
fsGroup: {{ .Values.podSecurity.runAsGroup }}
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "duet.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop:
    - ALL
{{- end -}}
