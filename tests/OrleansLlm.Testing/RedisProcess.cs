using System.Diagnostics;
using StackExchange.Redis;

namespace OrleansLlm.Testing;

/// <summary>How to run a private redis-server.</summary>
public sealed record RedisProcessOptions
{
    /// <summary>Loopback port; 0 picks a free one.</summary>
    public int Port { get; init; }

    /// <summary>Sets <c>requirepass</c>; the connection strings carry it.</summary>
    public string? Password { get; init; }

    /// <summary>AOF persistence (<c>appendfsync always</c>), so a killed server comes back with every write.</summary>
    public bool AppendOnly { get; init; }

    /// <summary>Runs as a Redis Cluster node (<c>--cluster-enabled yes</c>).</summary>
    public bool ClusterNode { get; init; }

    /// <summary>Serves TLS only, with this certificate; clients must trust its CA (<see cref="TestCertificates.CaFile"/>).</summary>
    public TestCertificates? Tls { get; init; }

    /// <summary>
    /// ACL users, as <c>user NAME on &gt;PASSWORD RULES</c> lines: the default user is turned off, and the test's own
    /// connection (<see cref="RedisProcess.Connection"/>) uses an administrator of its own.
    /// </summary>
    public IReadOnlyList<string>? Users { get; init; }
}

/// <summary>
/// A private redis-server on a loopback port, killed on dispose, also when a test fails. Tests and the benchmarks
/// use this one launcher. It can be stopped and started again on the same port and directory, to test outages.
/// </summary>
public sealed class RedisProcess : IRedisEndpoint, IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);

    private const string AdminUser = "orleansllm-test-admin";

    private readonly RedisProcessOptions _options;
    private readonly string _adminPassword = Guid.NewGuid().ToString("N");
    private Process? _process;

    private RedisProcess(RedisProcessOptions options, string dir)
    {
        _options = options with { Port = options.Port == 0 ? FreePorts.Next() : options.Port };
        Directory = dir;
    }

    public int Port => _options.Port;

    /// <summary>Where the server keeps its files (AOF, cluster config, log).</summary>
    public string Directory { get; }

    /// <summary>What silos and clients are given: host, port, password and TLS, no admin rights (with <see cref="RedisProcessOptions.Users"/>, the test's administrator).</summary>
    public string ConnectionString =>
        _options.Users is not null ? ConnectionStringAs(AdminUser, _adminPassword)
        : $"127.0.0.1:{Port}" + (_options.Password is { } password ? $",password={password}" : string.Empty) + (_options.Tls is null ? string.Empty : ",ssl=true");

    /// <summary>Host, port and TLS, as one of <see cref="RedisProcessOptions.Users"/>.</summary>
    public string ConnectionStringAs(string user, string password) =>
        $"127.0.0.1:{Port},user={user},password={password}" + (_options.Tls is null ? string.Empty : ",ssl=true");

    /// <summary>The CA silos and clients must trust when Redis serves TLS (<c>Redis:TrustedCaFile</c>), else null.</summary>
    public string? TrustedCaFile => _options.Tls?.CaFile;

    /// <summary>An admin connection for the test itself (FLUSHDB, CLIENT LIST, ...).</summary>
    public IConnectionMultiplexer Connection { get; private set; } = null!;

    public IDatabase Db => Connection.GetDatabase();

    /// <summary>The server behind <see cref="Connection"/> (INFO, CONFIG, FLUSHDB, SHUTDOWN).</summary>
    public IServer Server => Connection.GetServer("127.0.0.1", Port);

    public bool IsRunning => _process is { HasExited: false };

    public static async Task<RedisProcess> StartAsync(RedisProcessOptions? options = null, CancellationToken cancellationToken = default)
    {
        var dir = Path.Combine(Path.GetTempPath(), "orleansllm-redis-" + Guid.NewGuid().ToString("N")[..8]);
        System.IO.Directory.CreateDirectory(dir);
        var redis = new RedisProcess(options ?? new RedisProcessOptions(), dir);
        try
        {
            await redis.StartServerAsync(cancellationToken);
            redis.Connection = await ConnectionMultiplexer.ConnectAsync(redis.Configuration($"{redis.ConnectionString},allowAdmin=true,abortConnect=false,connectTimeout=2000"));
            return redis;
        }
        catch
        {
            await redis.DisposeAsync();
            throw;
        }
    }

    /// <summary>Starts the server again after <see cref="KillAsync"/> or <see cref="ShutdownAsync"/>, on the same port and directory.</summary>
    public Task RestartAsync(CancellationToken cancellationToken = default) => StartServerAsync(cancellationToken);

    /// <summary>SIGKILL: no last write, no AOF rewrite.</summary>
    public async Task KillAsync()
    {
        if (_process is { HasExited: false } process)
        {
            process.Kill();
            await process.WaitForExitAsync();
        }
    }

    /// <summary>A clean <c>SHUTDOWN</c>, as a Redis upgrade or pod restart does.</summary>
    public async Task ShutdownAsync()
    {
        if (_process is not { HasExited: false } process)
        {
            return;
        }

        try
        {
            await Server.ExecuteAsync("SHUTDOWN");
        }
        catch (RedisException)
        {
            // The connection drops as the server exits; that is the answer.
        }

        await process.WaitForExitAsync().WaitAsync(StartTimeout);
    }

    /// <summary>Empties the database, so nothing of one run (e.g. grain directory entries) meets the next.</summary>
    public async Task FlushAsync() => await Server.FlushDatabaseAsync();

    public async ValueTask DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        try
        {
            await KillAsync();
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }

        _process?.Dispose();
        try
        {
            System.IO.Directory.Delete(Directory, recursive: true);
        }
        catch (IOException)
        {
        }
    }

    private ConfigurationOptions Configuration(string connectionString)
    {
        var config = ConfigurationOptions.Parse(connectionString);
        if (_options.Tls is { } tls)
        {
            config.TrustIssuer(tls.CaFile);
        }

        return config;
    }

    private async Task StartServerAsync(CancellationToken cancellationToken)
    {
        List<string> args = [];
        if (_options.Users is { } users)
        {
            // Users come from a configuration file, as a Redis pod gets them: never on the command line.
            var file = Path.Combine(Directory, "users.conf");
            await File.WriteAllLinesAsync(file,
                ["user default off resetpass resetkeys resetchannels -@all", .. users, $"user {AdminUser} on >{_adminPassword} ~* &* +@all"], cancellationToken);
            args.Add(file);
        }

        args.AddRange(["--bind", "127.0.0.1", "--save", "", "--dir", Directory, "--logfile", "redis.log"]);
        // As deploy/base/redis.yaml runs it: big keys that expire or are deleted are freed in the background.
        args.AddRange(["--lazyfree-lazy-expire", "yes", "--lazyfree-lazy-user-del", "yes", "--lazyfree-lazy-server-del", "yes"]);
        args.AddRange(_options.AppendOnly ? ["--appendonly", "yes", "--appendfsync", "always"] : ["--appendonly", "no"]);
        if (_options.Password is { } password)
        {
            args.AddRange(["--requirepass", password]);
        }

        if (_options.Tls is not { } tls)
        {
            args.AddRange(["--port", Port.ToString()]);
        }
        else
        {
            args.AddRange(["--port", "0", "--tls-port", Port.ToString(), "--tls-cert-file", tls.CertFile, "--tls-key-file", tls.KeyFile,
                "--tls-ca-cert-file", tls.CaFile, "--tls-auth-clients", "no"]);
        }

        if (_options.ClusterNode)
        {
            args.AddRange(["--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf", "--cluster-node-timeout", "5000"]);
        }

        var start = new ProcessStartInfo("redis-server", args) { RedirectStandardOutput = true, RedirectStandardError = true };
        _process?.Dispose();
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run 'apt-get install -y redis-server' (bash .ci/run does it)", ex);
        }

        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();

        var process = _process;
        await Eventually.TrueAsync(async () =>
        {
            if (process.HasExited)
            {
                throw new InvalidOperationException($"redis-server exited with code {process.ExitCode}; see {Path.Combine(Directory, "redis.log")}");
            }

            try
            {
                await using var probe = await ConnectionMultiplexer.ConnectAsync(Configuration($"{ConnectionString},abortConnect=true,connectTimeout=500"));
                return await probe.GetDatabase().PingAsync() >= TimeSpan.Zero;
            }
            catch (RedisException)
            {
                return false;
            }
        }, $"redis-server to answer on port {Port}", StartTimeout);
        cancellationToken.ThrowIfCancellationRequested();
    }
}
