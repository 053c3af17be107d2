using System.Diagnostics;

namespace OrleansLlm.Tests.Infrastructure;

/// <summary>
/// The real silo executable in its own process, for what an in-process cluster cannot show: SIGKILL and SIGSTOP.
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _logFile;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(2) };
    private readonly System.Text.StringBuilder _output = new();
    private readonly System.Text.StringBuilder _stderr = new();

    private SiloProcess(Process process, string logFile, int httpPort, int siloPort, int gatewayPort, int? apiPort)
    {
        _process = process;
        _logFile = logFile;
        HttpPort = httpPort;
        SiloPort = siloPort;
        GatewayPort = gatewayPort;
        ApiPort = apiPort;
    }

    public int HttpPort { get; }

    public int SiloPort { get; }

    public int GatewayPort { get; }

    /// <summary>The OpenAI Batch API's port, drawn for the silo when its settings give it API keys but no <c>Api:Port</c>.</summary>
    public int? ApiPort { get; }

    public int ProcessId => _process.Id;

    /// <summary>Starts a silo with <paramref name="settings"/> (configuration keys, e.g. <c>Queue:Name</c>) and waits until it is ready.</summary>
    /// <param name="shippedLogging">Log as the silo's own appsettings.json says, not at the tests' quieter levels.</param>
    public static async Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string> settings, bool shippedLogging = false)
    {
        var silo = Launch(settings, shippedLogging);
        try
        {
            await silo.WaitReadyAsync();
        }
        catch
        {
            // No one else holds it yet: a silo that never got ready would outlive the test, working on a shared machine.
            await silo.DisposeAsync();
            throw;
        }

        return silo;
    }

    /// <summary>Starts a silo without waiting for it, e.g. to watch it fail or wait for Redis.</summary>
    public static SiloProcess Launch(IReadOnlyDictionary<string, string> settings, bool shippedLogging = false)
    {
        // Ports a test chose for the silo (Metrics:Port) are not given again: the silo refuses two uses of one port.
        var chosen = settings.Values.Select(v => int.TryParse(v, out var port) ? port : 0).ToHashSet();
        var ports = FreePorts.Take(4, chosen);
        var (httpPort, siloPort, gatewayPort) = (ports[0], ports[1], ports[2]);
        var apiPort = settings.Keys.Any(k => k.StartsWith("Api:Keys", StringComparison.Ordinal))
            ? settings.TryGetValue("Api:Port", out var given) ? int.Parse(given) : ports[3]
            : (int?)null;
        var logFile = Path.Combine(Path.GetTempPath(), $"orleansllm-silo-{siloPort}.log");
        var start = new ProcessStartInfo("dotnet", [RepoPaths.BuiltProgram("Silo", "OrleansLlm.Silo")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{httpPort}";
        start.Environment["Orleans__SiloPort"] = siloPort.ToString();
        start.Environment["Orleans__GatewayPort"] = gatewayPort.ToString();
        if (apiPort is { } api)
        {
            start.Environment["Api__Port"] = api.ToString();
        }
        if (!shippedLogging)
        {
            start.Environment["Logging__LogLevel__Default"] = "Warning";
            start.Environment["Logging__LogLevel__OrleansLlm"] = "Information";
        }
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__")] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the silo process did not start");
        var silo = new SiloProcess(process, logFile, httpPort, siloPort, gatewayPort, apiPort);
        var log = new StreamWriter(logFile) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => silo.Capture(log, e.Data, stderr: false);
        process.ErrorDataReceived += (_, e) => silo.Capture(log, e.Data, stderr: true);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return silo;
    }

    public Task WaitReadyAsync() =>
        Eventually.TrueAsync(async () => _process.HasExited ? throw new InvalidOperationException($"the silo exited; see {_logFile}") : await IsReadyAsync(),
            $"the silo process on port {SiloPort} to be ready (log: {_logFile})", TimeSpan.FromSeconds(60));

    /// <summary>Everything the silo wrote so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>What the silo wrote to stderr.</summary>
    public string Stderr
    {
        get
        {
            lock (_output)
            {
                return _stderr.ToString();
            }
        }
    }

    /// <returns>The exit code.</returns>
    public async Task<int> WaitForExitAsync(TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        await _process.WaitForExitAsync(deadline.Token);
        return _process.ExitCode;
    }

    private void Capture(StreamWriter log, string? line, bool stderr)
    {
        if (line is null)
        {
            return;
        }

        lock (_output)
        {
            log.WriteLine(line);
            _output.AppendLine(line);
            if (stderr)
            {
                _stderr.AppendLine(line);
            }
        }
    }

    /// <summary>The owner id its leases carry: its silo address, whatever generation it has.</summary>
    public bool Owns(string owner) => owner.StartsWith($"127.0.0.1:{SiloPort}@", StringComparison.Ordinal);

    public async Task<bool> IsReadyAsync() => (await ReadinessAsync()).Ready;

    /// <summary>What <c>/readyz</c> answers: whether the silo is ready, and its reason when it is not.</summary>
    public async Task<(bool Ready, string Answer)> ReadinessAsync()
    {
        try
        {
            using var response = await _http.GetAsync($"http://127.0.0.1:{HttpPort}/readyz");
            return (response.IsSuccessStatusCode, $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
        {
            return (false, ex.Message);
        }
    }

    public void Kill() => Signal(PosixSignals.SigKill);

    /// <summary>What Kubernetes does to a pod it removes: SIGTERM, then wait for the process to drain and exit.</summary>
    public async Task<TimeSpan> TerminateAsync(TimeSpan timeout)
    {
        var clock = Stopwatch.StartNew();
        Signal(PosixSignals.SigTerm);
        await _process.WaitForExitAsync(new CancellationTokenSource(timeout).Token);
        return clock.Elapsed;
    }

    public bool HasExited => _process.HasExited;

    public void Freeze() => Signal(PosixSignals.SigStop);

    public void Thaw() => Signal(PosixSignals.SigCont);

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            Thaw();
            _process.Kill(entireProcessTree: true);
            await _process.WaitForExitAsync();
        }

        _process.Dispose();
        _http.Dispose();
    }

    private void Signal(int signal) => PosixSignals.Send(_process.Id, signal);
}
