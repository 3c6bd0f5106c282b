# syntax=docker/dockerfile:1
# egressd collector. Build from the repository root:
#   docker build -f deploy/docker/collector.Dockerfile --build-arg DOTNET_IMAGES=<where the official .NET images live> -t egressd/collector:TAG .
# DOTNET_IMAGES is the repository prefix of the official .NET images (the sdk and aspnet images);
# the image workflow and the Tiltfile pass it.
ARG DOTNET_IMAGES
ARG DOTNET_VERSION=10.0

FROM ${DOTNET_IMAGES}/sdk:${DOTNET_VERSION} AS build
WORKDIR /src
COPY . .
# Framework-dependent, for the runtime image below; a test runs this same command (deploy/docker tests).
RUN dotnet publish services/collector/Egressd.Collector.csproj -c Release -o /app -p:UseAppHost=false

FROM ${DOTNET_IMAGES}/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app .
# MALLOC_ARENA_MAX: glibc gives each thread that meets a busy arena one of its own, up to eight
# per core, and keeps what it freed in each; the runtime's few native allocations need two
# (4 MiB less peak RSS at 250,000 changing keys, docs/BENCHMARKS.md).
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    MASSTRANSIT_USAGE_TELEMETRY=false \
    DOTNET_gcServer=0 \
    MALLOC_ARENA_MAX=2 \
    Egressd__Bus__Transport=rabbitmq
# Root: conntrack over netlink needs CAP_NET_ADMIN, and Kubernetes grants capabilities to
# root only (no ambient capabilities). The chart drops every other capability.
USER 0
EXPOSE 6061
ENTRYPOINT ["dotnet", "Egressd.Collector.dll"]
