# syntax=docker/dockerfile:1
# egressd enricher. Build from the repository root:
#   docker build -f deploy/docker/enricher.Dockerfile --build-arg DOTNET_IMAGES=<where the official .NET images live> -t egressd/enricher:TAG .
# DOTNET_IMAGES is the repository prefix of the official .NET images (the sdk and aspnet images);
# the image workflow and the Tiltfile pass it. Its default is the path those images have in
# Microsoft's registry, for a daemon or registry mirror that serves it under its own name.
ARG DOTNET_IMAGES=dotnet
ARG DOTNET_VERSION=10.0

# The SDK runs on the build machine's platform and cross-compiles for the target's
# (-a $TARGETARCH): .NET is not supported under emulation, and the output is plain IL anyway.
FROM --platform=$BUILDPLATFORM ${DOTNET_IMAGES}/sdk:${DOTNET_VERSION} AS build
ARG TARGETARCH
WORKDIR /src
# The restore from the project files alone: this layer stays cached until a project file or a
# package version changes, not at every source edit.
COPY global.json Directory.Build.props Directory.Packages.props .editorconfig ./
COPY shared/Egressd.Contracts/Egressd.Contracts.csproj shared/Egressd.Contracts/
COPY shared/Egressd.Shared/Egressd.Shared.csproj shared/Egressd.Shared/
COPY services/enricher/Egressd.Enricher.csproj services/enricher/
RUN dotnet restore services/enricher/Egressd.Enricher.csproj -a $TARGETARCH
COPY . .
# Framework-dependent, for the runtime image below; a test runs these same commands (deploy/docker tests).
RUN dotnet publish services/enricher/Egressd.Enricher.csproj --no-restore -c Release -a $TARGETARCH -o /app -p:UseAppHost=false

FROM ${DOTNET_IMAGES}/aspnet:${DOTNET_VERSION} AS runtime
WORKDIR /app
COPY --from=build /app .
ENV DOTNET_CLI_TELEMETRY_OPTOUT=1 \
    MASSTRANSIT_USAGE_TELEMETRY=false \
    DOTNET_gcServer=0 \
    Egressd__Bus__Transport=rabbitmq
# Non-root, the uid the chart runs it as (Pod Security "restricted").
USER 10001:10001
EXPOSE 6062
ENTRYPOINT ["dotnet", "Egressd.Enricher.dll"]
