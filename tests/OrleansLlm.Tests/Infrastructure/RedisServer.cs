using System.Diagnostics;
using StackExchange.Redis;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>A real redis-server on a free loopback port, with no persistence, for the lifetime of the test run.</summary>
public sealed class RedisServer : IAsyncLifetime
{
    private Process? _process;
    private readonly string _dir = Path.Combine(Path.GetTempPath(), "orleansllm-redis-" + Guid.NewGuid().ToString("N")[..8]);

    public int Port { get; private set; }

    public string ConnectionString => $"127.0.0.1:{Port}";

    public IConnectionMultiplexer Connection { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        Port = FreePorts.Next();
        var start = new ProcessStartInfo("redis-server", ["--port", Port.ToString(), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", _dir])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        try
        {
            _process = Process.Start(start) ?? throw new InvalidOperationException("redis-server did not start");
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new InvalidOperationException("redis-server is not installed: run 'apt-get install -y redis-server' (bash .ci/run does it)", ex);
        }

        _process.OutputDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        await Eventually.TrueAsync(async () =>
        {
            try
            {
                Connection = await ConnectionMultiplexer.ConnectAsync($"{ConnectionString},abortConnect=true,connectTimeout=500");
                return true;
            }
            catch (RedisConnectionException)
            {
                return false;
            }
        }, $"redis-server to answer on port {Port}", TimeSpan.FromSeconds(20));
    }

    public async Task DisposeAsync()
    {
        if (Connection is not null)
        {
            await Connection.DisposeAsync();
        }

        if (_process is { HasExited: false })
        {
            _process.Kill();
            await _process.WaitForExitAsync();
        }

        _process?.Dispose();
        try
        {
            Directory.Delete(_dir, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}

[CollectionDefinition(Name)]
public sealed class RedisCollection : ICollectionFixture<RedisServer>
{
    public const string Name = "redis";
}
