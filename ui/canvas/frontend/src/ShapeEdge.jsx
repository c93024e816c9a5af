// An edge labelled with the tensor shape it carries. The label is an HTML element placed by
// EdgeLabelRenderer rather than SVG text: SVG labels are measured (getBBox) on every render,
// which made a 50-node graph's update after each edit noticeably slower.
import { memo } from 'react';
import { BaseEdge, EdgeLabelRenderer, getBezierPath } from '@xyflow/react';

function ShapeEdge({ id, sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition,
  label, selected }) {
  const [path, labelX, labelY] = getBezierPath({
    sourceX, sourceY, targetX, targetY, sourcePosition, targetPosition,
  });
  return (
    <>
      <BaseEdge id={id} path={path} className={selected ? 'll-edge-path ll-edge-path--selected' : 'll-edge-path'} />
      {label && (
        <EdgeLabelRenderer>
          <div
            className="ll-edge-label"
            data-edge={id}
            style={{ transform: `translate(-50%, -50%) translate(${labelX}px, ${labelY}px)` }}
          >
            {label}
          </div>
        </EdgeLabelRenderer>
      )}
    </>
  );
}

export default memo(ShapeEdge);
