import { LabIcon } from '@jupyterlab/ui-components';

import fluxSvgstr from '../style/icons/flux.svg';

export const fluxIcon = new LabIcon({
  name: 'flux-hub:flux',
  svgstr: fluxSvgstr
});
