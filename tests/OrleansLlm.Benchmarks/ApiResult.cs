namespace OrleansLlm.Benchmarks;

/// <summary>What the api scenario measured: one batch file through the OpenAI Batch API of two silo processes.</summary>
/// <param name="Parallel">Slots of each simulator, and the fixed <c>Worker:MaxConcurrency</c> of the silo beside it.</param>
/// <param name="ValidationSeconds">From the create call to the first poll that saw the batch past <c>validating</c>.</param>
/// <param name="MakespanSeconds">From the create call to the first poll that saw <c>completed</c>.</param>
/// <param name="ServerMakespanSeconds">The batch object's own <c>completed_at − created_at</c>, in whole seconds.</param>
/// <param name="Missing">Input lines whose custom_id has no line in the output file.</param>
/// <param name="Duplicated">Output lines whose custom_id an earlier line had.</param>
/// <param name="NotOk">Output lines whose <c>response.status_code</c> is not 200.</param>
/// <param name="RssBeforeDownload">VmRSS of the silo serving the download just before it was asked for.</param>
/// <param name="RssPeakDownload">The most VmRSS of that silo, read from /proc every <see cref="ApiRun.RssInterval"/> while it served the download.</param>
/// <param name="PeakRss">Each silo's VmHWM at the end: the kernel's own high-water mark of its resident memory over its whole life.</param>
public sealed record ApiResult(
    int Lines,
    long InputBytes,
    double TimeScale,
    int Parallel,
    double IdealSeconds,
    double UploadSeconds,
    double ValidationSeconds,
    double MakespanSeconds,
    long ServerMakespanSeconds,
    double DownloadSeconds,
    long OutputBytes,
    int OutputLines,
    int Missing,
    int Duplicated,
    int NotOk,
    long RssBeforeDownload,
    long RssPeakDownload,
    IReadOnlyList<long> PeakRss,
    string Load,
    string? Error = null)
{
    public double ItemsPerSecond => Lines / MakespanSeconds;

    public bool Failed => Error is not null || Missing > 0 || Duplicated > 0 || NotOk > 0;

    public static ApiResult Failure(int lines, double timeScale, int parallel, double ideal, string load, string error) =>
        new(lines, 0, timeScale, parallel, ideal, double.NaN, double.NaN, double.NaN, 0, double.NaN, 0, 0, lines, 0, 0, 0, 0, [], load, error);
}
