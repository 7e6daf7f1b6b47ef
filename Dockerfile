# syntax=docker/dockerfile:1
# The agent image: a static binary on a distroless base. Configure it only
# through SLUICE_* environment variables (see README.md).
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags="-s -w" -o /out/sluice ./cmd/sluice

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/sluice /usr/local/bin/sluice
EXPOSE 9092 9644
ENTRYPOINT ["/usr/local/bin/sluice"]
CMD ["agent"]
