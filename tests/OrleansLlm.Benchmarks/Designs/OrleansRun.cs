using Orleans.TestingHost;

namespace OrleansLlm.Benchmarks.Designs;

/// <summary>
/// D while it runs: the cluster, plus a sampler that reads each worker's concurrency limit once a second, so the
/// report can show what the controller did (how fast it climbed, where it settled, whether it reacted to a slow-down).
/// </summary>
public sealed class OrleansRun : IAsyncDisposable, IDesignTrace
{
    private static readonly TimeSpan SampleInterval = TimeSpan.FromSeconds(1);

    private readonly InProcessTestCluster _cluster;
    private readonly IReadOnlyList<Uri> _backends;
    private readonly CancellationTokenSource _stop = new();
    private readonly Lock _gate = new();
    private readonly Dictionary<int, List<int>> _limits = [];
    private readonly Task _sampler;

    public OrleansRun(InProcessTestCluster cluster, IReadOnlyList<Uri> backends)
    {
        _cluster = cluster;
        _backends = backends;
        _sampler = SampleAsync(_stop.Token);
    }

    public IReadOnlyList<IReadOnlyList<int>>? Limits()
    {
        lock (_gate)
        {
            return _limits.Count == 0
                ? null
                : Enumerable.Range(0, _backends.Count).Select(i => (IReadOnlyList<int>)(_limits.TryGetValue(i, out var series) ? series.ToArray() : [])).ToArray();
        }
    }

    private async Task SampleAsync(CancellationToken stop)
    {
        while (!stop.IsCancellationRequested)
        {
            foreach (var silo in _cluster.Silos)
            {
                try
                {
                    var status = await _cluster.Client.GetGrain<IWorkerGrain>(silo.SiloAddress.ToParsableString()).GetStatusAsync().WaitAsync(SampleInterval, stop);
                    var backend = _backends.ToList().FindIndex(b => status.OllamaUrl.TrimEnd('/') == b.ToString().TrimEnd('/'));
                    lock (_gate)
                    {
                        if (!_limits.TryGetValue(backend, out var series))
                        {
                            _limits[backend] = series = [];
                        }

                        series.Add(status.ConcurrencyLimit);
                    }
                }
                catch (Exception ex) when (ex is not OperationCanceledException || !stop.IsCancellationRequested)
                {
                    // A missed sample only shortens the trace.
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }

            try
            {
                await Task.Delay(SampleInterval, stop);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _sampler;
        _stop.Dispose();
        await _cluster.DisposeAsync();
    }
}
