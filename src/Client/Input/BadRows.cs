namespace OrleansLlm.Client.Input;

/// <summary>
/// The rows of a file that could not be read, as <c>FILE:LINE: why</c>: every one counted, the first few kept, so a
/// file with a million bad rows is reported in as little memory as one with two.
/// </summary>
/// <param name="stopAtFirst">
/// True when the rows read are being submitted: the first bad one ends the reading (it was not there when the file was
/// checked, so the file changed). False when checking, to report them all.
/// </param>
internal sealed class BadRows(bool stopAtFirst)
{
    /// <summary>How many messages are kept: enough to find the problem, whatever the number of bad rows.</summary>
    public const int Kept = 20;

    private readonly List<string> _first = [];

    public IReadOnlyList<string> First => _first;

    public int Count { get; private set; }

    /// <exception cref="InvalidDataException">This reading stops at the first bad row.</exception>
    public void Add(string error)
    {
        if (stopAtFirst)
        {
            throw new InvalidDataException(error);
        }

        if (Count++ < Kept)
        {
            _first.Add(error);
        }
    }
}
