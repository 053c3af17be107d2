using System.Text.RegularExpressions;
using k8s.Models;
using Microsoft.Extensions.Configuration;
using OllamaSim;
using OrleansLlm.Options;
using OrleansLlm.Queue;
using OrleansLlm.Tests.Deploy;
using OrleansLlm.Tests.Infrastructure;
using Xunit.Abstractions;

namespace OrleansLlm.Tests.Security;

/// <summary>
/// The Redis users of the manifests (deploy/base/redis-users.acl, with the passwords of deploy/secrets), loaded into a
/// real redis-server that serves TLS only, as the Redis pod does: a real silo process works as the user silo, the real
/// CLI submits, reads and cancels as the user client, KEDA's scaler's commands run as the user keda; each user is
/// refused one command outside its role, and Redis' ACL log holds those refusals and nothing else.
/// </summary>
[Trait("Category", "Deploy")]
public sealed partial class RedisUsersTests(ITestOutputHelper output) : IAsyncLifetime
{
    private readonly TestCertificates _certificates = TestCertificates.Create();
    private readonly List<IAsyncDisposable> _running = [];
    private RedisProcess _redis = null!;
    private RenderedManifests _manifests = null!;
    private IReadOnlyDictionary<string, string> _rules = null!;
    private IReadOnlyDictionary<string, string> _silo = null!;
    private IReadOnlyDictionary<string, string> _client = null!;

    public async Task InitializeAsync()
    {
        _manifests = await RenderedManifests.RenderAsync("overlays/cpu");
        _rules = Users(_manifests);
        _silo = _manifests.Environment(_manifests.SiloContainer, _manifests.SiloDeployment.Spec.Template.Metadata, "orleansllm");
        var jobs = new RenderedManifests([.. _manifests.Objects, .. (await RenderedManifests.RenderAsync("jobs/submit-cities")).Objects]);
        var job = jobs.All<V1Job>().Single();
        _client = jobs.Environment(job.Spec.Template.Spec.Containers.Single(), job.Spec.Template.Metadata, "orleansllm");
        _redis = await RedisProcess.StartAsync(new RedisProcessOptions
        {
            Tls = _certificates,
            Users = [.. _rules.Select(u => $"user {u.Key} on >{Kustomize.RedisPasswords[u.Key]} {u.Value}")],
        });
    }

    [SkippableFact]
    public void Rules_NameExactlyTheKeysTheCodeUses()
    {
        var queue = _silo["Queue__Name"];
        var keys = new QueueKeys(queue);
        var (serviceId, clusterId) = (_silo["Orleans__ServiceId"], _silo["Orleans__ClusterId"]);
        var membership = $"{serviceId}/members/{clusterId}";
        Assert.Equal(["client", "keda", "silo"], _rules.Keys.Order());

        // The silo: the queue's keys (QueueKeys: the name and name:*), membership, the workers' grain directory.
        Assert.Equal([$"~{keys.Name}", $"~{keys.Name}:*", $"~{membership}", $"~{clusterId}/directory/*"], KeyPatterns(_rules["silo"]));
        Assert.All(typeof(QueueKeys).GetProperties().Where(p => p.PropertyType == typeof(string)).Select(p => (string)p.GetValue(keys)!).Where(k => k != keys.Name),
            key => Assert.StartsWith($"{keys.Name}:", key, StringComparison.Ordinal));

        // The client: the membership table alone. KEDA: exactly what it counts (QueueKeys.Outstanding, its triggers), read-only.
        Assert.Equal([$"~{membership}"], KeyPatterns(_rules["client"]));
        Assert.Equal(keys.Outstanding.Select(k => $"%R~{k}").Order(), KeyPatterns(_rules["keda"]).Order());
        Assert.Equal(keys.Outstanding.Order(), _manifests.Single<ScaledObject>("orleansllm-silo").Spec.Triggers.Select(t => t.Metadata["listName"]).Order());
    }

    [SkippableFact]
    public async Task EachUser_RunsItsRolesCommands_OverTls_AndIsRefusedTheRest()
    {
        using var deadline = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var clock = System.Diagnostics.Stopwatch.StartNew();

        // The silo, as the manifests configure it, but on this machine: the user silo over TLS, trusting the CA.
        var simulator = await SimulatorServer.StartAsync(new SimulatorOptions { Parallel = 4, TimeScale = 0.001 });
        _running.Add(simulator);
        var silo = await SiloProcess.StartAsync(new Dictionary<string, string>
        {
            ["Redis:ConnectionString"] = Here(_silo["Redis__ConnectionString"], "silo"),
            ["Redis:TrustedCaFile"] = _certificates.CaFile,
            ["Queue:Name"] = _silo["Queue__Name"],
            ["Orleans:ClusterId"] = _silo["Orleans__ClusterId"],
            ["Orleans:ServiceId"] = _silo["Orleans__ServiceId"],
            ["Ollama:Url"] = simulator.Url.ToString(),
        });
        _running.Add(silo);
        output.WriteLine($"silo ready as the user silo over TLS after {clock.Elapsed.TotalSeconds:F1} s");

        // The real CLI as the user client: submit and wait, read the results, cancel a second batch.
        var client = new Dictionary<string, string>
        {
            ["Redis__ConnectionString"] = Here(_client["Redis__ConnectionString"], "client"),
            ["Redis__TrustedCaFile"] = _certificates.CaFile,
            ["Orleans__ClusterId"] = _silo["Orleans__ClusterId"],
            ["Orleans__ServiceId"] = _silo["Orleans__ServiceId"],
        };
        var submit = await CliProcess.RunAsync(["submit", Cities.DataFile, "--limit", "20", "--batch", "acl-1", "--wait", "--connect-timeout", "30"], client);
        output.WriteLine(submit.ToString());
        Assert.True(submit.ExitCode == 0, submit.ToString());
        var results = await CliProcess.RunAsync(["results", "acl-1", "--format", "csv", "--connect-timeout", "30"], client);
        Assert.True(results.ExitCode == 0, results.ToString());
        Assert.Equal(21, results.Stdout.Trim().Split('\n').Length);
        var second = await CliProcess.RunAsync(["submit", Cities.DataFile, "--limit", "200", "--batch", "acl-2", "--priority", "low", "--connect-timeout", "30"], client);
        Assert.True(second.ExitCode == 0, second.ToString());
        var cancel = await CliProcess.RunAsync(["cancel", "acl-2", "--connect-timeout", "30"], client);
        output.WriteLine(cancel.ToString());
        Assert.True(cancel.ExitCode == 0 || cancel.Stderr.Contains("nothing left to cancel", StringComparison.Ordinal), cancel.ToString());
        output.WriteLine($"the CLI submitted, read and cancelled as the user client after {clock.Elapsed.TotalSeconds:F1} s");

        // KEDA's redis scaler as go-redis runs it: HELLO with the user, PING, then per trigger TYPE and the length
        // command of that type. The silo is still up, so the keys may or may not exist: the command set is the same.
        await using (var keda = await ConnectAsAsync("keda", deadline.Token))
        {
            Assert.Equal("PONG", await keda.SendAsync("PING"));
            foreach (var key in _manifests.Single<ScaledObject>("orleansllm-silo").Spec.Triggers.Select(t => t.Metadata["listName"]))
            {
                var type = await keda.SendAsync("TYPE", key);
                var length = type switch
                {
                    "list" => await keda.SendAsync("LLEN", key),
                    "zset" => await keda.SendAsync("ZCARD", key),
                    "hash" => await keda.SendAsync("HLEN", key),
                    "set" => await keda.SendAsync("SCARD", key),
                    _ => "0",
                };
                output.WriteLine($"keda: {key} is {type}, length {length}");
                Assert.Matches("^[0-9]+$", length);
            }

            // Every length command on every key it counts, whatever their types now: allowed, or a type error, never NOPERM.
            foreach (var key in new QueueKeys(_silo["Queue__Name"]).Outstanding)
            {
                foreach (var command in (string[])["LLEN", "ZCARD", "HLEN", "SCARD"])
                {
                    Assert.DoesNotContain("NOPERM", await keda.SendAsync(command, key), StringComparison.Ordinal);
                }
            }
        }

        // The work is done: nothing any user ran was refused so far.
        var before = await AclLogAsync(deadline.Token);
        output.WriteLine($"ACL log after the work: {before}");
        Assert.Equal("", before);

        // One command outside each role, each refused: the silo flushing Redis, the client forging a membership row,
        // KEDA adding an item to the queue.
        var refusals = new Dictionary<string, string>();
        foreach (var (user, command) in new (string, string[])[]
        {
            ("silo", ["FLUSHALL"]),
            ("client", ["HSET", $"{_silo["Orleans__ServiceId"]}/members/{_silo["Orleans__ClusterId"]}", "10.0.0.66:11111@1", "{}"]),
            ("keda", ["RPUSH", _silo["Queue__Name"], "{\"city\":\"forged\"}"]),
        })
        {
            await using var connection = await ConnectAsAsync(user, deadline.Token);
            refusals[user] = await connection.SendAsync(command);
            output.WriteLine($"{user}: {string.Join(' ', command)} -> {refusals[user]}");
            Assert.StartsWith("-NOPERM", refusals[user], StringComparison.Ordinal);
        }

        var log = await AclLogAsync(deadline.Token);
        output.WriteLine($"ACL log: {log}");
        Assert.Equal(3, Regex.Count(log, "username"));
        output.WriteLine($"whole test: {clock.Elapsed.TotalSeconds:F1} s");
    }

    public async Task DisposeAsync()
    {
        foreach (var running in Enumerable.Reverse(_running))
        {
            await running.DisposeAsync();
        }

        if (_redis is not null)
        {
            await _redis.DisposeAsync();
        }

        _certificates.Dispose();
    }

    /// <summary>The users of the rendered ACL ConfigMap, by name: their rules, without a password (the pod adds it).</summary>
    internal static IReadOnlyDictionary<string, string> Users(RenderedManifests m)
    {
        var map = m.All<V1ConfigMap>().Single(c => c.Metadata.Name.StartsWith("orleansllm-redis-users", StringComparison.Ordinal));
        return map.Data["users.acl"].Split('\n').Select(l => UserLine().Match(l)).Where(x => x.Success)
            .ToDictionary(x => x.Groups["name"].Value, x => x.Groups["rules"].Value);
    }

    private static string[] KeyPatterns(string rules) => [.. rules.Split(' ').Where(r => r.StartsWith('~') || r.StartsWith('%'))];

    /// <summary>A connection string of the manifests, every option kept, pointed at this machine's Redis.</summary>
    private string Here(string manifest, string user)
    {
        Assert.Contains($"user={user},password={Kustomize.RedisPasswords[user]}", manifest, StringComparison.Ordinal);
        return manifest.Replace("orleansllm-redis:6379", $"127.0.0.1:{_redis.Port}", StringComparison.Ordinal);
    }

    private async Task<RespClient> ConnectAsAsync(string user, CancellationToken cancellationToken)
    {
        var connection = await RespClient.ConnectAsync(_redis.Port, _certificates.CaFile, cancellationToken);
        var hello = await connection.SendAsync("HELLO", "3", "AUTH", user, Kustomize.RedisPasswords[user]);
        Assert.DoesNotContain("-", hello[..1], StringComparison.Ordinal);
        return connection;
    }

    private async Task<string> AclLogAsync(CancellationToken cancellationToken)
    {
        var result = await _redis.Connection.GetServer("127.0.0.1", _redis.Port).ExecuteAsync("ACL", "LOG");
        return string.Join(" | ", ((StackExchange.Redis.RedisResult[])result!).Select(entry => string.Join(" ", ((StackExchange.Redis.RedisResult[])entry!).Select(x => x.ToString()))));
    }

    [GeneratedRegex(@"^user (?<name>\S+) (?<rules>.+)$")]
    private static partial Regex UserLine();
}
