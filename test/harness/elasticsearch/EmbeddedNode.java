// Copyright The policyaudit Authors
// SPDX-License-Identifier: Apache-2.0

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.elasticsearch.common.logging.LogConfigurator;
import org.elasticsearch.common.settings.Settings;
import org.elasticsearch.env.Environment;
import org.elasticsearch.node.InternalSettingsPreparer;
import org.elasticsearch.node.Node;
import org.elasticsearch.plugins.PluginsLoader;

/**
 * One Elasticsearch node for the tests (test/harness/elasticsearch.go),
 * started in-process from the jars Maven Central serves: the distribution's
 * launcher (server-cli, with its JVM options and keystore) is not among
 * them, so this does the part of its bootstrap a node needs on loopback.
 *
 * <p>Arguments are settings, {@code key=value} each, as {@code -E} takes
 * them; {@code path.home} must name the directory that holds
 * {@code modules/transport-netty4} (make tools lays it out in
 * bin/elasticsearch), and the config directory (log4j2.properties) is
 * {@code path.home}'s unless {@code path.conf} names another.
 *
 * <p>SIGTERM closes the node as the distribution does (flushing nothing that
 * the translog has not already made durable): the harness's Stop is a clean
 * shutdown, its Kill a SIGKILL.
 */
public final class EmbeddedNode {
    private EmbeddedNode() {}

    public static void main(String[] args) throws Exception {
        // Elasticsearch's logging facade has no provider until this runs,
        // and reading the settings already logs (as Elasticsearch's own
        // main, which does this first).
        LogConfigurator.registerErrorListener();
        LogConfigurator.configureESLogging();
        Settings.Builder builder = Settings.builder();
        Path conf = null;
        for (String arg : args) {
            int eq = arg.indexOf('=');
            if (eq <= 0) {
                throw new IllegalArgumentException("not key=value: " + arg);
            }
            String key = arg.substring(0, eq), value = arg.substring(eq + 1);
            if (key.equals("path.conf")) {
                conf = Path.of(value);
            } else {
                builder.put(key, value);
            }
        }
        Settings input = builder.build();
        if (conf == null) {
            conf = Path.of(input.get("path.home")).resolve("config");
        }
        Files.createDirectories(conf);

        Environment env = InternalSettingsPreparer.prepareEnvironment(input, Map.of(), conf, () -> "policyaudit-test");
        // The distribution's log configuration is its own file; the
        // harness writes a small one (console only) into conf.
        LogConfigurator.setNodeName(Node.NODE_NAME_SETTING.get(env.settings()));
        LogConfigurator.configure(env, true);

        // Modules only (transport-netty4), no plugins; not stateless (the
        // serverless mode, which needs x-pack). Without entitlements (the
        // distribution bootstraps them with an agent that is not among
        // the jars), no plugin needs native access granted by name.
        PluginsLoader loader = PluginsLoader.createPluginsLoader(
            PluginsLoader.loadModulesBundles(env.modulesDir(), false), Set.of(), Map.of());

        Node node = new Node(env, loader);
        CountDownLatch closed = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            try {
                node.close();
                node.awaitClose(10, TimeUnit.SECONDS);
            } catch (Exception e) {
                e.printStackTrace();
            } finally {
                closed.countDown();
            }
        }, "policyaudit-node-shutdown"));
        try {
            node.start();
        } catch (Throwable t) {
            // The node's threads would keep the JVM up: a failed start
            // must end it, for the harness to report the log at once.
            t.printStackTrace();
            System.exit(1);
        }
        closed.await();
    }
}
