using System.Diagnostics;
using System.Globalization;

namespace OrleansLlm.Benchmarks.Infrastructure;

/// <summary>
/// The real silo executable in a process of its own: what the api scenario measures (memory included, which an
/// in-process silo would share with the harness) and the overhead scenario (CPU time, this build's or another's).
/// </summary>
public sealed class SiloProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StreamWriter _log;

    private SiloProcess(Process process, StreamWriter log, int httpPort, int apiPort, string logFile)
    {
        _process = process;
        _log = log;
        HttpPort = httpPort;
        ApiPort = apiPort;
        LogFile = logFile;
    }

    public int HttpPort { get; }

    public int ApiPort { get; }

    /// <summary>Where the silo's stdout and stderr go.</summary>
    public string LogFile { get; }

    public int ProcessId => _process.Id;

    /// <summary>The process's CPU time so far (user and system), in seconds.</summary>
    public double CpuSeconds => CpuTime.OfProcess(ProcessId);

    /// <summary>
    /// What the runtime has done so far, from the silo's <c>/metrics</c>: the JIT (<c>dotnet.jit.compiled_methods</c>
    /// and <c>dotnet.jit.compilation.time</c>; tiered compilation keeps rewriting hot methods for a while after the
    /// start, and the overhead scenario warms up until that has settled) and the bytes allocated
    /// (<c>dotnet.gc.heap.total_allocated</c>: a measure of the work an item costs that, unlike CPU time, a busy
    /// machine does not blur).
    /// </summary>
    public async Task<(double Methods, double Seconds, double Allocated)> RuntimeAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var lines = (await http.GetStringAsync(new Uri($"http://127.0.0.1:{HttpPort}/metrics"), cancellationToken)).Split('\n');
        return (Read(lines, "dotnet_jit_compiled_methods_total"), Read(lines, "dotnet_jit_compilation_time_seconds_total"), Read(lines, "dotnet_gc_heap_total_allocated_bytes_total"));

        static double Read(string[] lines, string metric)
        {
            var line = lines.FirstOrDefault(l => l.StartsWith(metric + "{", StringComparison.Ordinal) || l.StartsWith(metric + " ", StringComparison.Ordinal))
                ?? throw new InvalidOperationException($"the silo's /metrics has no {metric}");
            return double.Parse(line[(line.LastIndexOf(' ') + 1)..], CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Starts the built silo with <paramref name="settings"/> (configuration keys, e.g. <c>Queue:Name</c>) and waits until <c>/readyz</c> answers 200.</summary>
    /// <param name="siloDll">Another build's silo (<see cref="SiloBuild"/>); null: the one built beside this harness.</param>
    public static async Task<SiloProcess> StartAsync(IReadOnlyDictionary<string, string> settings, CancellationToken cancellationToken, string? siloDll = null)
    {
        var ports = FreePorts.Take(4, new HashSet<int>());
        var logFile = Path.Combine(Path.GetTempPath(), $"orleansllm-bench-silo-{ports[1]}.log");
        var start = new ProcessStartInfo("dotnet", [siloDll ?? RepoPaths.BuiltProgram("Silo", "OrleansLlm.Silo")])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{ports[0]}";
        start.Environment["Orleans__SiloPort"] = ports[1].ToString(CultureInfo.InvariantCulture);
        start.Environment["Orleans__GatewayPort"] = ports[2].ToString(CultureInfo.InvariantCulture);
        start.Environment["Api__Port"] = ports[3].ToString(CultureInfo.InvariantCulture);
        start.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var process = Process.Start(start) ?? throw new InvalidOperationException("the silo process did not start");
        var log = new StreamWriter(logFile) { AutoFlush = true };
        process.OutputDataReceived += (_, e) => Write(log, e.Data);
        process.ErrorDataReceived += (_, e) => Write(log, e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var silo = new SiloProcess(process, log, ports[0], ports[3], logFile);
        try
        {
            await silo.WaitReadyAsync(cancellationToken);
            return silo;
        }
        catch
        {
            await silo.DisposeAsync();
            throw;
        }
    }

    /// <summary>The kernel's <c>VmRSS</c> (resident now) or <c>VmHWM</c> (the most resident since the start) from <c>/proc/PID/status</c>, in bytes; 0 once the process is gone.</summary>
    public long Memory(string field = "VmRSS")
    {
        try
        {
            var line = File.ReadLines($"/proc/{ProcessId}/status").FirstOrDefault(l => l.StartsWith(field + ":", StringComparison.Ordinal));
            return line is null ? 0 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) * 1024;
        }
        catch (IOException)
        {
            return 0;
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill(entireProcessTree: true);
        }

        // Also waits for the last of its output, so nothing is written to the log once it is closed.
        await _process.WaitForExitAsync();
        _process.Dispose();
        await _log.DisposeAsync();
    }

    private async Task WaitReadyAsync(CancellationToken cancellationToken)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(2) };
        await Eventually.TrueAsync(
            async () =>
            {
                cancellationToken.ThrowIfCancellationRequested();
                if (_process.HasExited)
                {
                    throw new InvalidOperationException($"the silo exited with {_process.ExitCode}; see {LogFile}");
                }

                try
                {
                    using var response = await http.GetAsync(new Uri($"http://127.0.0.1:{HttpPort}/readyz"), cancellationToken);
                    return response.IsSuccessStatusCode;
                }
                catch (Exception ex) when ((ex is HttpRequestException or TaskCanceledException) && !cancellationToken.IsCancellationRequested)
                {
                    return false;
                }
            },
            $"the silo on port {HttpPort} to be ready (log: {LogFile})",
            TimeSpan.FromMinutes(2));
    }

    private static void Write(StreamWriter log, string? line)
    {
        if (line is not null)
        {
            // stdout and stderr arrive on two threads.
            lock (log)
            {
                log.WriteLine(line);
            }
        }
    }
}
