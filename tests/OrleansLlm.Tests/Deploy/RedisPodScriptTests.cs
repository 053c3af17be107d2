using System.Diagnostics;
using System.Security.Cryptography.X509Certificates;
using k8s.Models;
using OrleansLlm.Tests.Security;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Deploy;

/// <summary>
/// The Redis container's own start script, as the rendered manifests hold it, run by <c>sh</c> against this machine's
/// redis-server with its files where the pod mounts them here: the users of the ACL with their Secrets' passwords and no
/// default user, TLS only, and a renewed certificate picked up without a restart. Only the paths, the port and the
/// reload loop's minute are changed.
/// </summary>
[Trait("Category", "Deploy")]
public sealed class RedisPodScriptTests(ITestOutputHelper output) : IDisposable
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly string _dir = Directory.CreateTempSubdirectory("orleansllm-redis-pod-").FullName;

    [SkippableFact]
    public async Task RedisScript_ServesTlsOnly_AsTheUsersAlone_AndReloadsARenewedCertificate()
    {
        var m = await RenderedManifests.RenderAsync("overlays/cpu");
        var redis = m.Single<V1Deployment>("orleansllm-redis").Spec.Template.Spec;
        var container = redis.Containers.Single();
        var script = container.Args.Single();
        var users = RedisUsersTests.Users(m);

        // Where the pod mounts them: the TLS Secret, one password file per user, the ACL ConfigMap, the data volume.
        var (tls, passwords, acl, data) = (Dir("tls"), Dir("users"), Dir("acl"), Dir("data"));
        File.Copy(_certificates.SiloCertFile, Path.Combine(tls, "tls.crt"));
        File.Copy(_certificates.SiloKeyFile, Path.Combine(tls, "tls.key"));
        File.Copy(_certificates.CaFile, Path.Combine(tls, "ca.crt"));
        foreach (var user in users.Keys)
        {
            await File.WriteAllTextAsync(Path.Combine(passwords, user), Kustomize.RedisPasswords[user]);
        }

        await File.WriteAllTextAsync(Path.Combine(acl, "users.acl"), m.All<V1ConfigMap>().Single(c => c.Metadata.Name.StartsWith("orleansllm-redis-users", StringComparison.Ordinal)).Data["users.acl"]);
        var port = FreePorts.Next();
        foreach (var expected in (string[])["/etc/orleansllm/tls", "/var/run/secrets/orleansllm/redis-users", "/etc/orleansllm/redis", "--dir /data", "--tls-port 6379", "sleep 60", "redis-cli --tls"])
        {
            Assert.Contains(expected, script, StringComparison.Ordinal);
        }

        var here = script
            .Replace("/etc/orleansllm/tls", tls, StringComparison.Ordinal)
            .Replace("/var/run/secrets/orleansllm/redis-users", passwords, StringComparison.Ordinal)
            .Replace("/etc/orleansllm/redis", acl, StringComparison.Ordinal)
            .Replace("--dir /data", $"--dir {data} --bind 127.0.0.1", StringComparison.Ordinal)
            .Replace("--tls-port 6379", $"--tls-port {port}", StringComparison.Ordinal)
            .Replace("sleep 60", "sleep 1", StringComparison.Ordinal)
            .Replace("redis-cli --tls", $"redis-cli -p {port} --tls", StringComparison.Ordinal);
        Assert.Equal(["sh", "-c"], container.Command);
        var start = new ProcessStartInfo("sh", ["-c", here]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using var process = Process.Start(start)!;
        var log = new System.Text.StringBuilder();
        process.OutputDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.ErrorDataReceived += (_, e) => { lock (log) { log.AppendLine(e.Data); } };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await Eventually.TrueAsync(async () =>
            {
                if (process.HasExited)
                {
                    // Under the lock: the output handlers may still be appending, and a StringBuilder read while it
                    // grows throws (CI met it).
                    lock (log)
                    {
                        Assert.Fail($"the script exited: {log}");
                    }
                }
                try
                {
                    await using var probe = await RespClient.ConnectAsync(port, _certificates.CaFile, deadline.Token);
                    return true;
                }
                catch (Exception ex) when (ex is System.Net.Sockets.SocketException or IOException)
                {
                    return false;
                }
            }, "the Redis pod's script to serve TLS");

            // Nobody without a user: the default user is off. Each user with its Secret's password.
            await using (var anonymous = await RespClient.ConnectAsync(port, _certificates.CaFile, deadline.Token))
            {
                Assert.StartsWith("-NOAUTH", await anonymous.SendAsync("PING"), StringComparison.Ordinal);
                Assert.StartsWith("-WRONGPASS", await anonymous.SendAsync("AUTH", "default", "anything"), StringComparison.Ordinal);
            }

            foreach (var user in users.Keys)
            {
                await using var connection = await RespClient.ConnectAsync(port, _certificates.CaFile, deadline.Token);
                Assert.Equal("OK", await connection.SendAsync("AUTH", user, Kustomize.RedisPasswords[user]));
            }

            // TLS only: a plain-text client on the port gets no answer, and the script opens no other port (--port 0).
            Assert.Contains("--port 0", script, StringComparison.Ordinal);
            using (var plain = new System.Net.Sockets.TcpClient())
            {
                await plain.ConnectAsync("127.0.0.1", port, deadline.Token);
                var stream = plain.GetStream();
                await stream.WriteAsync("PING\r\n"u8.ToArray(), deadline.Token);
                var answer = new byte[64];
                int read;
                try
                {
                    read = await stream.ReadAsync(answer, deadline.Token);
                }
                catch (IOException)
                {
                    read = 0;
                }

                Assert.DoesNotContain("PONG", System.Text.Encoding.ASCII.GetString(answer, 0, read), StringComparison.Ordinal);
            }

            // A renewal, written over the mounted files: new connections get the new certificate, Redis still running.
            using var first = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(tls, "tls.crt")));
            _certificates.IssueSilo(Path.Combine(tls, "tls.crt"), Path.Combine(tls, "tls.key"));
            using var renewed = X509Certificate2.CreateFromPem(await File.ReadAllTextAsync(Path.Combine(tls, "tls.crt")));
            var clock = Stopwatch.StartNew();
            await Eventually.TrueAsync(async () =>
            {
                await using var connection = await RespClient.ConnectAsync(port, _certificates.CaFile, deadline.Token);
                return connection.ServerCertificate is { } presented && new X509Certificate2(presented).Thumbprint == renewed.Thumbprint;
            }, "Redis to present the renewed certificate");
            output.WriteLine($"renewed certificate presented {clock.Elapsed.TotalSeconds:F1} s after the files changed");
            Assert.NotEqual(first.Thumbprint, renewed.Thumbprint);
            Assert.False(process.HasExited);
            lock (log)
            {
                Assert.Contains("reloaded the TLS certificate", log.ToString(), StringComparison.Ordinal);
            }
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    public void Dispose()
    {
        _certificates.Dispose();
        Directory.Delete(_dir, recursive: true);
    }

    private string Dir(string name) => Directory.CreateDirectory(Path.Combine(_dir, name)).FullName;
}
