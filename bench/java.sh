# Sourced by the bench scripts: sets $java to a Java 25 or newer (JAVA_HOME when set, else
# the first JDK 25 under /usr/lib/jvm, exported as JAVA_HOME for the Maven wrapper too) and
# stops with exit 2 when there is none. `need_jar JAR` stops when the packaged jar is missing.
if [[ -z "${JAVA_HOME:-}" ]]; then
  for j in /usr/lib/jvm/temurin-25-jdk-amd64 /usr/lib/jvm/java-25*; do
    [[ -x "$j/bin/java" ]] && JAVA_HOME="$j" && break
  done
fi
[[ -n "${JAVA_HOME:-}" ]] && export JAVA_HOME
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
java_version="$("$java" -XshowSettings:properties -version 2>&1 | awk -F'= ' '/java\.specification\.version/ { print $2; exit }')"
[ "${java_version:-0}" -ge 25 ] 2>/dev/null || { echo "bench: needs Java 25 or newer (set JAVA_HOME); $java is ${java_version:-unknown}" >&2; exit 2; }

need_jar() {
  [ -f "$1" ] || { echo "bench: $1 is missing; run ./mvnw -B -q package -DskipTests" >&2; exit 2; }
}
