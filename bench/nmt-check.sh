#!/usr/bin/env bash
# Native Memory Tracking over many detector fit/predict cycles (see NativeMemoryCheck).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
if [ -z "${JAVA_HOME:-}" ] && [ -d /usr/lib/jvm/temurin-25-jdk-amd64 ]; then export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64; fi
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
[ -f bench/target/benchmarks.jar ] || ./mvnw -q -B -DskipTests package -pl bench
exec "$java" -XX:NativeMemoryTracking=summary --enable-native-access=ALL-UNNAMED --add-modules jdk.incubator.vector \
  -cp bench/target/benchmarks.jar org.ood4j.bench.NativeMemoryCheck "${1:-10000}"
