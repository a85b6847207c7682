package io.gpud;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.classes;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.fields;
import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import io.gpud.api.ApiServer;
import io.gpud.config.GossipConfig;
import io.gpud.inference.Engine;
import io.gpud.inference.EngineScheduler;
import io.gpud.inference.StepBackend;
import io.gpud.membership.MembershipAgent;
import io.gpud.membership.NodeMetadata;
import io.gpud.metrics.MetricRegistry;
import io.gpud.node.Node;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.function.Supplier;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The allowed arrows between packages (SPEC section 2): each package may use only the
 * packages listed after it, and third-party types stay in the package that owns them.
 */
class ArchitectureTest {

    /** Top to bottom; dependencies point strictly down this list. */
    static final List<String> LAYERS = List.of(
            "cli", "node", "api", "routing", "membership", "grammar", "inference", "model", "enclave",
            "state", "scaling", "audit", "metrics", "config", "core");

    private static JavaClasses classes;

    @BeforeAll
    static void importMainClasses() {
        classes = new ClassFileImporter()
                .withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
                .importPackages("io.gpud");
    }

    @Test
    void dependenciesPointDownward() {
        for (int i = 1; i < LAYERS.size(); i++) {
            String[] above = LAYERS.subList(0, i).stream().map(p -> "io.gpud." + p + "..").toArray(String[]::new);
            noClasses().that().resideInAPackage("io.gpud." + LAYERS.get(i) + "..")
                    .should().dependOnClassesThat().resideInAnyPackage(above)
                    .because(LAYERS.get(i) + " sits below " + Arrays.toString(above) + " (SPEC section 2)")
                    .allowEmptyShould(true)
                    .check(classes);
        }
    }

    @Test
    void everyMainClassLivesInAKnownPackage() {
        String[] known = LAYERS.stream().map(p -> "io.gpud." + p + "..").toArray(String[]::new);
        noClasses().should().resideOutsideOfPackages(known).check(classes);
    }

    @Test
    void helidonOnlyInApi() {
        noClasses().that().resideOutsideOfPackage("io.gpud.api..")
                .should().dependOnClassesThat().resideInAPackage("io.helidon..")
                .check(classes);
    }

    @Test
    void awsSdkOnlyInStateScalingAndEnclave() {
        noClasses().that().resideOutsideOfPackages("io.gpud.state..", "io.gpud.scaling..", "io.gpud.enclave..")
                .should().dependOnClassesThat().resideInAPackage("software.amazon..")
                .check(classes);
    }

    @Test
    void enclaveProgramImportsNothingOfTheDaemonButProtocolAndCrypto() {
        classes().that().resideInAPackage("io.gpud.enclave.program..")
                .should().onlyDependOnClassesThat().resideInAnyPackage("io.gpud.enclave.program..",
                        "io.gpud.enclave.protocol..", "io.gpud.enclave.crypto..", "java..", "javax..",
                        "org.bouncycastle..")
                .because("the enclave program is its own entry point and must be auditable on its own (SPEC section 7)")
                .check(classes);
    }

    @Test
    void protocolAndCryptoDependOnlyOnCoreOfTheDaemon() {
        noClasses().that().resideInAnyPackage("io.gpud.enclave.protocol..", "io.gpud.enclave.crypto..")
                .should().dependOnClassesThat().resideInAnyPackage("io.gpud.enclave", "io.gpud.enclave.program..",
                        "io.gpud.audit..", "io.gpud.config..", "io.gpud.metrics..", "software.amazon..",
                        "com.fasterxml..", "org.slf4j..")
                .because("they run inside the enclave too")
                .check(classes);
    }

    @Test
    void bouncyCastleOnlyInEnclaveCrypto() {
        noClasses().that().resideOutsideOfPackages("io.gpud.enclave.crypto..")
                .should().dependOnClassesThat().resideInAPackage("org.bouncycastle..")
                .because("FIPS crypto goes through io.gpud.enclave.crypto, which fixes the provider and its mode")
                .check(classes);
    }

    @Test
    void jcudaOnlyInInference() {
        noClasses().that().resideOutsideOfPackage("io.gpud.inference..")
                .should().dependOnClassesThat().resideInAPackage("jcuda..")
                .check(classes);
    }

    @Test
    void prometheusClientOnlyInMetrics() {
        noClasses().that().resideOutsideOfPackage("io.gpud.metrics..")
                .should().dependOnClassesThat().resideInAPackage("io.prometheus..")
                .because("code records through io.gpud.metrics, which keeps the Prometheus client behind it")
                .check(classes);
    }

    @Test
    void logbackOnlyInCli() {
        noClasses().that().resideOutsideOfPackage("io.gpud.cli..")
                .should().dependOnClassesThat().resideInAPackage("ch.qos.logback..")
                .because("code logs through SLF4J; only the command line configures logback")
                .check(classes);
    }

    @Test
    void theEngineSchedulerIsTheOnlyOneThatRunsSteps() {
        noClasses().that().doNotHaveFullyQualifiedName(EngineScheduler.class.getName())
                .should().callMethod(StepBackend.class, "step", List.class, StepBackend.StepOutput.class)
                .because("one scheduler drives every backend (queue, admission, batching, quarantine)")
                .check(classes);
        noClasses().that().implement(StepBackend.class).should().implement(Engine.class)
                .because("a backend is driven by the scheduler, it is not an engine of its own")
                .check(classes);
    }

    @Test
    void onlyTheCompositionRootWiresSubsystems() {
        noClasses().that().doNotHaveFullyQualifiedName(Node.class.getName())
                .should().callConstructor(ApiServer.class, ApiServer.Dependencies.class)
                .orShould().callMethod(MembershipAgent.class, "start", String.class, GossipConfig.class,
                        NodeMetadata.class, Supplier.class, MetricRegistry.class)
                .because("io.gpud.node.Node builds the node top to bottom; nothing else wires subsystems")
                .check(classes);
    }

    @Test
    void theNodesWiringIsFinal() {
        fields().that().areDeclaredInClassesThat().haveNameMatching("io\\.gpud\\.node\\.(Node|NodeServices|ServedModels)")
                .should().beFinal()
                .because("the node is built once, top to bottom, and no subsystem is set later or left null")
                .check(classes);
    }

    @Test
    void theNodeAndTheApiReadTimeOnlyThroughTheClockTheyAreGiven() {
        noClasses().that().resideInAnyPackage("io.gpud.node..", "io.gpud.api..")
                .should().callMethod(System.class, "nanoTime")
                .orShould().callMethod(System.class, "currentTimeMillis")
                .orShould().callMethod(Instant.class, "now")
                .orShould().callMethod(Thread.class, "sleep", Duration.class)
                .orShould().callMethod(Thread.class, "sleep", long.class)
                .because("the composition root passes one io.gpud.core.Time down, so tests and simulations can set it")
                .check(classes);
    }
}
