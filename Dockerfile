# The DayTrader executables in one image; docker-compose.yml picks the program per service.
FROM swift:6.3-bookworm AS build
RUN apt-get update && apt-get install -y --no-install-recommends pkg-config libhiredis-dev librabbitmq-dev \
    && rm -rf /var/lib/apt/lists/*
WORKDIR /src
# Dependencies first, so that a change to the sources does not fetch them again.
COPY Package.swift ./
RUN swift package resolve
COPY Sources ./Sources
COPY Tests ./Tests
RUN swift build -c release --static-swift-stdlib \
    && mkdir /out && bin="$(swift build -c release --show-bin-path)" \
    && for program in transaction-server audit-server quote-server workload-generator; do cp "$bin/$program" /out/; done

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends libhiredis0.14 librabbitmq4 curl ca-certificates \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --create-home daytrader && mkdir -p /var/lib/daytrader/dumps && chown daytrader /var/lib/daytrader/dumps
COPY --from=build /out/ /usr/local/bin/
USER daytrader
WORKDIR /home/daytrader
