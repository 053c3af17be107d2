namespace OrleansLlm.Benchmarks;

/// <summary>What one pod of the scale scenario did. Times in seconds from the push.</summary>
/// <param name="StartupSeconds">Pod asked for → its silo Active.</param>
/// <param name="FirstItemAfterActiveSeconds">Active → its first request to its Ollama; null if it never sent one.</param>
/// <param name="StopToExitSeconds">Stop requested (SIGTERM's path: the graceful drain) → the silo gone; null if it ran to the end.</param>
/// <param name="BusySlotSeconds">Its backend's busy-slot seconds while the pod was Active (from Active, or the push, to exit, or the last result).</param>
/// <param name="AvailableSlotSeconds">Its slots × the length of that window.</param>
public sealed record PodFigures(
    int Index,
    int Slots,
    double RequestedSeconds,
    double StartupSeconds,
    double ActiveSeconds,
    double? FirstItemAfterActiveSeconds,
    double? StopRequestedSeconds,
    double? StopToExitSeconds,
    double BusySlotSeconds,
    double AvailableSlotSeconds,
    long Served)
{
    public double Goodput => BusySlotSeconds / AvailableSlotSeconds;
}
